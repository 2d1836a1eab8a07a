"""Chat-template tokenization with the loss on assistant tokens only.

The template is rendered as text; the character span of each assistant turn is the difference
between the conversation rendered up to that turn (with the generation prompt) and rendered
including it. One batched fast-tokenizer call with offsets then marks which tokens carry loss.
"""
from __future__ import annotations

IGNORE_INDEX = -100


def render_with_spans(tokenizer, messages: list[dict]) -> tuple[str, list[tuple[int, int]]]:
    """The conversation as the model sees it, and the character spans of assistant turns."""
    full = tokenizer.apply_chat_template(messages, tokenize=False)
    spans = []
    search_from = 0
    for i, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        before = tokenizer.apply_chat_template(messages[:i], tokenize=False, add_generation_prompt=True) if i else ""
        through = tokenizer.apply_chat_template(messages[: i + 1], tokenize=False)
        if full.startswith(through) and through.startswith(before):
            spans.append((len(before), len(through)))
        else:  # templates that rewrite earlier turns: locate the reply text itself
            start = full.find(message["content"], search_from)
            if start < 0:
                continue
            spans.append((start, start + len(message["content"])))
        search_from = spans[-1][1]
    return full, spans


def tokenize_examples(tokenizer, examples: list[dict], max_length: int, batch_size: int = 512) -> list[dict]:
    """Normalized examples -> [{"input_ids", "labels"}]; examples left with no loss token are dropped."""
    out: list[dict] = []
    for start in range(0, len(examples), batch_size):
        chunk = examples[start: start + batch_size]
        texts, spans = [], []
        for example in chunk:
            if "text" in example:
                texts.append(example["text"] + (tokenizer.eos_token or ""))
                spans.append(None)  # plain text: every token carries loss
            else:
                text, assistant_spans = render_with_spans(tokenizer, example["messages"])
                texts.append(text)
                spans.append(assistant_spans)
        encoded = tokenizer(texts, add_special_tokens=False, return_offsets_mapping=True,
                            truncation=True, max_length=max_length)
        for ids, offsets, example_spans in zip(encoded["input_ids"], encoded["offset_mapping"], spans):
            if example_spans is None:
                labels = list(ids)
            else:
                labels = [tok if _inside(o, example_spans) else IGNORE_INDEX for tok, o in zip(ids, offsets)]
            # position 0 never carries loss (nothing predicts it), so count from 1
            if any(label != IGNORE_INDEX for label in labels[1:]):
                out.append({"input_ids": list(ids), "labels": labels})
    return out


def _inside(offset: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    begin = offset[0]
    return any(s <= begin < e for s, e in spans)


def model_text(example: dict, tokenizer) -> str:
    """Exactly what the model reads for an example: the chat template's output, or the text and end of text."""
    if "text" in example:
        return example["text"] + (tokenizer.eos_token or "")
    return tokenizer.apply_chat_template(example["messages"], tokenize=False)
