"""Tool-call accuracy on held-back rows: does the model call the right function with the right arguments, and
keep quiet when no call is needed? Each case is a row's conversation up to its first assistant turn; the model
answers greedily with the row's tools in its prompt, and its calls are read back (data/tool_calls.calls_in_text).

A case is right when the calls match in number and order, each name exactly and its arguments equal as JSON
values (1 and 1.0 are equal, key order does not matter); a "no call" case is right when the answer has no call.
"""
from __future__ import annotations

from peftstudio.engine.data.tool_calls import calls_in_text
from peftstudio.engine.evaluation.batched import generate_answers

TOOL_TOKENS = 64  # a call with its arguments (about 30 tokens) fits; a direct answer is cut, fine for scoring


def tool_cases(examples: list[dict]) -> list[dict]:
    """{"conversation", "tools", "expected"} for each example with tools: what comes before its first assistant
    turn, and that turn's calls ([] when the assistant answers directly)."""
    cases = []
    for example in examples:
        if not example.get("tools"):
            continue
        messages = example["messages"]
        first = next((i for i, m in enumerate(messages) if m["role"] == "assistant"), None)
        if first is None or first == 0:
            continue
        expected = [{"name": c["name"], "arguments": c["arguments"]} for c in messages[first].get("tool_calls") or []]
        cases.append({"conversation": messages[:first], "tools": example["tools"], "expected": expected})
    return cases


def calls_match(expected: list[dict], got: list[dict]) -> bool:
    return len(expected) == len(got) and all(e["name"] == g["name"] and e["arguments"] == g["arguments"]
                                             for e, g in zip(expected, got))


def score_answers(cases: list[dict], answers: list[str]) -> dict:
    """Accuracy overall, on call cases and on no-call cases, the right function's rate, and how many calls parsed."""
    right, named, valid, calls_written = [], [], [], 0
    for case, answer in zip(cases, answers):
        got, parsed = calls_in_text(answer)
        right.append(calls_match(case["expected"], got))
        named.append([c["name"] for c in case["expected"]] == [c["name"] for c in got])
        if got:
            calls_written += 1
            valid.append(parsed)
    calls = [r for r, c in zip(right, cases) if c["expected"]]
    quiet = [r for r, c in zip(right, cases) if not c["expected"]]

    def rate(values):
        return sum(values) / len(values) if values else None

    return {"accuracy": rate(right), "call_accuracy": rate(calls), "no_call_accuracy": rate(quiet),
            "name_accuracy": rate(named), "valid_json_rate": rate(valid), "answers_with_calls": calls_written,
            "cases": len(cases), "call_cases": len(calls), "no_call_cases": len(quiet)}


def tool_accuracy(model, tokenizer, cases: list[dict], use_adapter: bool = True, progress=None, cancel=None,
                  with_answers: bool = False) -> dict:
    answers = generate_answers(model, tokenizer, [c["conversation"] for c in cases], tools=[c["tools"] for c in cases],
                               max_new_tokens=TOOL_TOKENS, use_adapter=use_adapter, progress=progress, cancel=cancel)
    scores = score_answers(cases, answers)
    if with_answers:
        scores["answers"] = answers
    return scores


def tools_card(model, tokenizer, cases: list[dict], stage, cancel=None) -> dict:
    """The scorecard's tools section: base (adapter off) and tuned on the run's held-back conversations with
    tools; `stage(low, high, what)` makes a progress callback for each side."""
    base = tool_accuracy(model, tokenizer, cases, use_adapter=False, with_answers=True, cancel=cancel,
                         progress=stage(0.05, 0.1, "Base model calls tools for held-back conversation"))
    tuned = tool_accuracy(model, tokenizer, cases, use_adapter=True, with_answers=True, cancel=cancel,
                          progress=stage(0.1, 0.15, "Fine-tuned calls tools for held-back conversation"))
    samples = [{"prompt": case["conversation"][-1]["content"], "expected": case["expected"], "base": b, "tuned": t}
               for case, b, t in list(zip(cases, base.pop("answers"), tuned.pop("answers")))[:5]]
    return {"cases": len(cases), "base": base, "tuned": tuned, "samples": samples}
