"""Chat-template tokenization with the loss on assistant tokens only.

The template is rendered as text; the character span of each assistant turn is the difference
between the conversation rendered up to that turn (with the generation prompt) and rendered
including it. One batched fast-tokenizer call with offsets then marks which tokens carry loss.

Thinking blocks (`<think>...</think>` before an answer, as Qwen3 and other reasoning models write them) follow
the run's `thinking` setting: "target" learns them with the answer, "context" keeps them in the text without
loss, "remove" takes them out of the conversation (an empty block a template writes itself carries no loss).

Conversations with tools are rendered by data/tool_render.py (the template's own `tools=`, or the documented
fallback): the assistant's calls carry loss like its words; tool results and the tool list never do.
"""
from __future__ import annotations

import re

from peftstudio.engine.data.tool_render import template_inputs

IGNORE_INDEX = -100
THINK_BLOCK = re.compile(r"<think>.*?</think>\s*", re.DOTALL)
THINKING_MODES = ("target", "context", "remove")


def split_reasoning(text: str) -> tuple[str | None, str]:
    """(the reasoning inside a leading <think>...</think> block, the answer after it); (None, text) without one.
    An unfinished block (the answer was cut or is still streaming) is all reasoning."""
    stripped = text.lstrip()
    if not stripped.startswith("<think>"):
        return None, text
    inside, closed, after = stripped[len("<think>"):].partition("</think>")
    return inside.strip(), after.strip() if closed else ""


def has_thinking(example: dict) -> bool:
    return any(m["role"] == "assistant" and "</think>" in m["content"] for m in example.get("messages", ()))


def without_thinking(messages: list[dict]) -> list[dict]:
    """The conversation with the thinking taken out of every assistant turn."""
    return [dict(m, content=THINK_BLOCK.sub("", m["content"]).lstrip()) if m["role"] == "assistant" else m
            for m in messages]


def thinking_keywords(tokenizer, thinking: str) -> dict:
    """`enable_thinking=False` for templates that take it (Qwen3, SmolLM3) when thinking is removed, so the
    template writes its own "no thinking" form, the one the model answers in at inference with thinking off."""
    template = getattr(tokenizer, "chat_template", None) or ""
    if thinking == "remove" and "enable_thinking" in (template if isinstance(template, str) else str(template)):
        return {"enable_thinking": False}
    return {}


def _subtract(spans: list[tuple[int, int]], holes: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The parts of `spans` outside every hole (both are lists of [start, end) character ranges)."""
    out = []
    for start, end in spans:
        pieces = [(start, end)]
        for h_start, h_end in holes:
            pieces = [part for s, e in pieces
                      for part in ((s, min(e, h_start)), (max(s, h_end), e)) if part[0] < part[1]]
        out += pieces
    return out


def loss_spans(tokenizer, example: dict, thinking: str = "target") -> tuple[str, list[tuple[int, int]] | None]:
    """The text the model reads for an example and the character spans that carry loss (None: all of it)."""
    if "text" in example:
        return example["text"] + (tokenizer.eos_token or ""), None
    messages = without_thinking(example["messages"]) if thinking == "remove" else example["messages"]
    messages, extra = template_inputs(tokenizer, dict(example, messages=messages))  # tools: data/tool_render.py
    extra.update(thinking_keywords(tokenizer, thinking))
    text, spans = render_with_spans(tokenizer, messages, **extra)
    if thinking != "target":
        spans = _subtract(spans, [m.span() for m in THINK_BLOCK.finditer(text)])
    return text, spans


def render_with_spans(tokenizer, messages: list[dict], **extra) -> tuple[str, list[tuple[int, int]]]:
    """The conversation as the model sees it, and the character spans of assistant turns (`extra`: keywords for
    the template, such as `tools`)."""
    full = tokenizer.apply_chat_template(messages, tokenize=False, **extra)
    spans = []
    search_from = 0
    for i, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        before = tokenizer.apply_chat_template(messages[:i], tokenize=False, add_generation_prompt=True,
                                               **extra) if i else ""
        through = tokenizer.apply_chat_template(messages[: i + 1], tokenize=False, **extra)
        if full.startswith(through) and through.startswith(before):
            spans.append((len(before), len(through)))
        else:  # templates that rewrite earlier turns (Qwen3 drops old thinking): locate the reply text itself
            reply = message["content"] or ""
            start = full.find(reply, search_from) if reply else -1
            if start < 0:
                reply = THINK_BLOCK.sub("", reply).lstrip()
                start = full.find(reply, search_from) if reply else -1
            if start < 0:
                continue
            spans.append((start, start + len(reply)))
        search_from = spans[-1][1]
    return full, spans


def tokenize_examples(tokenizer, examples: list[dict], max_length: int, batch_size: int = 512,
                      thinking: str = "target") -> list[dict]:
    """Normalized examples -> [{"input_ids", "labels"}]; examples left with no loss token are dropped."""
    out: list[dict] = []
    for start in range(0, len(examples), batch_size):
        rendered = [loss_spans(tokenizer, example, thinking) for example in examples[start: start + batch_size]]
        encoded = tokenizer([text for text, _ in rendered], add_special_tokens=False, return_offsets_mapping=True,
                            truncation=True, max_length=max_length)
        for ids, offsets, (_, example_spans) in zip(encoded["input_ids"], encoded["offset_mapping"], rendered):
            labels = _labels(ids, offsets, example_spans)
            # position 0 never carries loss (nothing predicts it), so count from 1
            if any(label != IGNORE_INDEX for label in labels[1:]):
                out.append({"input_ids": list(ids), "labels": labels})
    return out


def _labels(ids, offsets, spans) -> list[int]:
    if spans is None:  # plain text: every token carries loss
        return list(ids)
    return [tok if _inside(o, spans) else IGNORE_INDEX for tok, o in zip(ids, offsets)]


def loss_pieces(tokenizer, example: dict, max_length: int, thinking: str = "target") -> list[tuple[str, str]]:
    """What the model reads, in pieces marked "loss" (learned), "context" (read, not learned) or "cut" (past the
    maximum length): exactly the labels training uses, for the dataset preview."""
    text, spans = loss_spans(tokenizer, example, thinking)
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, truncation=True,
                        max_length=max_length)
    labels = _labels(encoded["input_ids"], encoded["offset_mapping"], spans)
    pieces: list[tuple[str, str]] = []
    position = 0
    for index, ((begin, end), label) in enumerate(zip(encoded["offset_mapping"], labels)):
        kind = "loss" if label != IGNORE_INDEX and index > 0 else "context"
        begin = position  # the gap before a token (a space some tokenizers leave out of offsets) goes with it
        if end <= begin:
            continue
        if pieces and pieces[-1][1] == kind:
            pieces[-1] = (pieces[-1][0] + text[begin:end], kind)
        else:
            pieces.append((text[begin:end], kind))
        position = end
    if position < len(text):
        pieces.append((text[position:], "cut"))
    return pieces


def _inside(offset: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    begin = offset[0]
    return any(s <= begin < e for s, e in spans)


def model_text(example: dict, tokenizer) -> str:
    """Exactly what the model reads for an example: the chat template's output, or the text and end of text."""
    if "text" in example:
        return example["text"] + (tokenizer.eos_token or "")
    messages, extra = template_inputs(tokenizer, example)
    return tokenizer.apply_chat_template(messages, tokenize=False, **extra)
