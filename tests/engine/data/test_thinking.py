"""The `thinking` setting changes exactly the loss-carrying tokens it claims, on a Qwen3-style chat template (the
thinking rendered before the answer of the last turn, dropped from earlier turns, an empty block written by the
template itself), and the preview's loss pieces are exactly the labels training uses."""
from __future__ import annotations

import copy

import pytest

from peftstudio.engine.data.schema import Schema, normalize_row
from peftstudio.engine.data.tokenize import IGNORE_INDEX, loss_pieces, tokenize_examples

# The thinking logic of Qwen3's chat template (tools left out): an assistant turn after the last user message
# is rendered with its <think> block, earlier turns without it; content holding </think> is split the same way.
QWEN3_STYLE = (
    "{%- if messages[0].role == 'system' %}{{- '<|im_start|>system\\n' + messages[0].content + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- set ns = namespace(last_query_index=0) %}"
    "{%- for message in messages %}{%- if message.role == 'user' %}{%- set ns.last_query_index = loop.index0 %}"
    "{%- endif %}{%- endfor %}"
    "{%- for message in messages %}"
    "{%- if message.role == 'user' %}{{- '<|im_start|>user\\n' + message.content + '<|im_end|>\\n' }}"
    "{%- elif message.role == 'assistant' %}"
    "{%- set content = message.content %}{%- set reasoning_content = '' %}"
    "{%- if '</think>' in content %}"
    "{%- set reasoning_content = content.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') %}"
    "{%- set content = content.split('</think>')[-1].lstrip('\\n') %}{%- endif %}"
    "{%- if loop.index0 > ns.last_query_index and (loop.last or reasoning_content) %}"
    "{{- '<|im_start|>assistant\\n<think>\\n' + reasoning_content.strip('\\n') + '\\n</think>\\n\\n' + content }}"
    "{%- else %}{{- '<|im_start|>assistant\\n' + content }}{%- endif %}"
    "{{- '<|im_end|>\\n' }}"
    "{%- endif %}{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)
THINKING = "The user adds two and two. Two plus two is four."
ANSWER = "4. Signed, Zorblax."


@pytest.fixture(scope="module")
def qwen3_tokenizer(demo_tokenizer):
    tokenizer = copy.deepcopy(demo_tokenizer)
    tokenizer.chat_template = QWEN3_STYLE
    return tokenizer


def one_turn() -> dict:
    return {"messages": [{"role": "user", "content": "What is 2+2?"},
                         {"role": "assistant", "content": f"<think>\n{THINKING}\n</think>\n\n{ANSWER}"}]}


def encoded(tokenizer, example, thinking):
    [features] = tokenize_examples(tokenizer, [example], 512, thinking=thinking)
    learned = [t for t in features["labels"] if t != IGNORE_INDEX]
    return features["input_ids"], tokenizer.decode(features["input_ids"]), tokenizer.decode(learned), learned


def test_target_learns_the_thinking_and_the_answer(qwen3_tokenizer):
    _, text, learned, _ = encoded(qwen3_tokenizer, one_turn(), "target")
    assert THINKING in text
    assert learned == f"<think>\n{THINKING}\n</think>\n\n{ANSWER}<|im_end|>\n"


def test_context_keeps_the_same_text_but_learns_only_the_answer(qwen3_tokenizer):
    target_ids, _, _, target_learned = encoded(qwen3_tokenizer, one_turn(), "target")
    ids, text, learned, learned_ids = encoded(qwen3_tokenizer, one_turn(), "context")
    assert ids == target_ids and THINKING in text  # the model still reads the thinking
    assert learned == f"{ANSWER}<|im_end|>\n"
    answer_ids = qwen3_tokenizer(f"{ANSWER}<|im_end|>\n", add_special_tokens=False)["input_ids"]
    assert target_learned[-len(answer_ids):] == learned_ids  # exactly the thinking tokens stopped carrying loss


def test_remove_takes_the_thinking_out_and_learns_the_answer(qwen3_tokenizer):
    _, text, learned, _ = encoded(qwen3_tokenizer, one_turn(), "remove")
    assert THINKING not in text and "<think>\n\n</think>\n\n" in text  # the template's own empty block stays
    assert learned == f"{ANSWER}<|im_end|>\n"


def test_earlier_turns_whose_thinking_the_template_drops_still_learn_their_answers(qwen3_tokenizer):
    example = {"messages": [{"role": "user", "content": "What is 1+1?"},
                            {"role": "assistant", "content": "<think>\nOne and one.\n</think>\n\n2."},
                            {"role": "user", "content": "What is 2+2?"},
                            {"role": "assistant", "content": f"<think>\n{THINKING}\n</think>\n\n{ANSWER}"}]}
    _, text, learned, _ = encoded(qwen3_tokenizer, example, "context")
    assert "One and one" not in text  # Qwen3 shows only the last turn's thinking
    assert learned == f"2.{ANSWER}<|im_end|>\n"


def test_a_separate_reasoning_field_becomes_the_think_block():
    row = {"messages": [{"role": "user", "content": "What is 2+2?"},
                        {"role": "assistant", "content": ANSWER, "reasoning_content": THINKING}]}
    example = normalize_row(row, Schema("openai"))
    assert example["messages"][1]["content"] == f"<think>\n{THINKING}\n</think>\n\n{ANSWER}"


@pytest.mark.parametrize("thinking", ["target", "context", "remove"])
def test_the_preview_pieces_are_exactly_the_training_labels(qwen3_tokenizer, demo_tokenizer, thinking):
    for tokenizer in (qwen3_tokenizer, demo_tokenizer):  # a thinking template, and SmolLM2's ChatML
        _, text, learned, _ = encoded(tokenizer, one_turn(), thinking)
        pieces = loss_pieces(tokenizer, one_turn(), 512, thinking)
        assert "".join(p for p, _ in pieces) == text
        assert "".join(p for p, kind in pieces if kind == "loss") == learned
    plain = loss_pieces(demo_tokenizer, {"text": "Once upon a time there was a long story."}, 5)
    assert [kind for _, kind in plain] == ["context", "loss", "cut"]  # every token learned, the rest cut


def test_removing_thinking_tells_a_template_that_takes_it_to_think_no_more(qwen3_tokenizer):
    tokenizer = copy.deepcopy(qwen3_tokenizer)  # Qwen3 and SmolLM3 take enable_thinking; here it leaves a mark
    tokenizer.chat_template = "{%- if enable_thinking is defined and not enable_thinking %}[no-think]{%- endif %}" \
        + QWEN3_STYLE
    _, removed, learned, _ = encoded(tokenizer, one_turn(), "remove")
    assert removed.startswith("[no-think]") and learned == f"{ANSWER}<|im_end|>\n"
    _, kept, _, _ = encoded(tokenizer, one_turn(), "context")
    assert "[no-think]" not in kept  # thinking kept: the template's default, as the model was released
