"""An exported agent, checked: does the file's own chat template ask for tools as training did, and does the
file, run in llama.cpp, call them?

The chat template is read back from the written GGUF (what llama.cpp, LM Studio and transformers will apply) and
rendered with transformers' Jinja around the run's held-back conversations, OpenAI-shaped as a user's app sends
them; each must equal the text the run trained on. Then llama.cpp answers each held-back question greedily from
that prompt and the calls are read from its answer (data/tool_calls.calls_in_text) and scored as the scorecard
scores the model in memory (evaluation/tool_accuracy.py).
"""
from __future__ import annotations

from pathlib import Path

from peftstudio.engine.data.tool_render import native_messages, template_inputs
from peftstudio.engine.evaluation.tool_accuracy import TOOL_TOKENS, score_answers, tool_cases

CASES = 24  # held-back conversations scored in llama.cpp (a small model answers one in well under a second)


def _stored_render(tokenizer, template: str, messages: list[dict], tools, generation: bool) -> str:
    return tokenizer.apply_chat_template(messages, tools=tools or None, chat_template=template, tokenize=False,
                                         add_generation_prompt=generation)


def template_matches_training(tokenizer, template: str, examples: list[dict]) -> tuple[int, int]:
    """(conversations rendered exactly as in training, conversations with tools compared)."""
    same = compared = 0
    for example in examples:
        if not example.get("tools"):
            continue
        messages, extra = template_inputs(tokenizer, example)
        trained = tokenizer.apply_chat_template(messages, tokenize=False, **extra)
        exported = _stored_render(tokenizer, template, native_messages(example), example["tools"], False)
        compared += 1
        same += trained == exported
    return same, compared


def check_agent_gguf(path: Path, tokenizer, examples: list[dict]) -> dict:
    """The `tools` section of an agent's verification report."""
    from peftstudio.engine.export.llama_cpp_runner import GGUFModel  # lazy: defers numpy

    model = GGUFModel.open(path, context=2048)
    try:
        template = model.llm.metadata.get("tokenizer.chat_template") or ""
        same, compared = template_matches_training(tokenizer, template, examples)
        cases = tool_cases(examples)[:CASES]
        answers = []
        for case in cases:
            prompt = _stored_render(tokenizer, template, native_messages({"messages": case["conversation"]}),
                                    case["tools"], True)
            tokens = [t for t in model.greedy(model.tokenize(prompt), TOOL_TOKENS) if t != model.llm.token_eos()]
            answers.append(model.llm.detokenize(tokens).decode("utf-8", "replace"))
    finally:
        model.close()
    scores = score_answers(cases, answers)
    samples = [{"prompt": c["conversation"][-1]["content"], "expected": c["expected"], "answer": a}
               for c, a in list(zip(cases, answers))[:3]]
    return {"reader": "llama.cpp (llama-cpp-python)", "template_exact": same, "template_compared": compared,
            **scores, "samples": samples}
