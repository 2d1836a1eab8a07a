"""Preference data: pairs of a better and a worse answer (DPO, ORPO, SimPO), or answers marked good or bad (KTO).

Recognised by content:
    preference   prompt + chosen + rejected, each text or a list of chat messages; without a prompt, chosen and
                 rejected are whole conversations and their shared beginning is the prompt (Anthropic HH style)
    kto          prompt + completion + label (true for a good answer, false for a bad one)
Normalized (what TRL's trainers read, conversational, so the model's chat template is applied):
    {"prompt": [messages], "chosen": [assistant message], "rejected": [assistant message]}
    {"prompt": [messages], "completion": [assistant message], "label": bool}
`sft_view` gives the supervised example of the same row (the prompt and the chosen or good answer), so the
dataset page, validation, statistics and the preview work on preference files unchanged.
"""
from __future__ import annotations

PREFERENCE_SCHEMAS = ("preference", "kto")
LENGTH_BIAS = 1.5  # chosen answers this many times longer than rejected ones, on average: a length-bias warning


def is_preference(keys: set) -> str | None:
    """The preference schema these column names make, if any."""
    if {"chosen", "rejected"} <= keys:
        return "preference"
    if {"prompt", "completion", "label"} <= keys:
        return "kto"
    return None


def _messages(value, role: str) -> list[dict]:
    if isinstance(value, list):
        return [{"role": str(m.get("role", role)), "content": "" if m.get("content") is None else str(m["content"])}
                for m in value if isinstance(m, dict)]
    return [{"role": role, "content": "" if value is None else str(value).strip()}]


def _split_shared_prompt(chosen: list[dict], rejected: list[dict]) -> tuple[list[dict], list[dict], list[dict]]:
    """Whole conversations -> (their shared beginning, the rest of chosen, the rest of rejected)."""
    shared = 0
    while shared < min(len(chosen), len(rejected)) - 1 and chosen[shared] == rejected[shared]:
        shared += 1
    return chosen[:shared], chosen[shared:], rejected[shared:]


def preference_example(row: dict, schema_name: str, system_prompt: str | None = None) -> dict | None:
    """One row in TRL's conversational preference form, or None when a side is missing."""
    if schema_name == "kto":
        label = row.get("label")
        if isinstance(label, str):
            label = {"true": True, "false": False, "1": True, "0": False}.get(label.strip().lower())
        if not isinstance(label, bool) and label in (0, 1):
            label = bool(label)
        if not isinstance(label, bool):
            return None
        example = {"prompt": _messages(row.get("prompt"), "user"),
                   "completion": _messages(row.get("completion"), "assistant"), "label": label}
    else:
        if "prompt" in row and row.get("prompt") not in (None, ""):
            prompt = _messages(row.get("prompt"), "user")
            chosen, rejected = _messages(row.get("chosen"), "assistant"), _messages(row.get("rejected"), "assistant")
        else:
            prompt, chosen, rejected = _split_shared_prompt(_messages(row.get("chosen"), "assistant"),
                                                            _messages(row.get("rejected"), "assistant"))
        example = {"prompt": prompt, "chosen": chosen, "rejected": rejected}
    if system_prompt and not any(m["role"] == "system" for m in example["prompt"]):
        example["prompt"] = [{"role": "system", "content": system_prompt}] + example["prompt"]
    return example


def sft_view(example: dict) -> dict | None:
    """The supervised example of a preference row: the prompt and its chosen (or good) answer."""
    answer = example.get("chosen") if "chosen" in example else (example["completion"] if example["label"] else None)
    if not answer or not any(m["content"].strip() for m in answer):
        return None
    return {"messages": example["prompt"] + answer}


def _text(messages: list[dict]) -> str:
    return "\n".join(m["content"] for m in messages).strip()


def preference_problems(example: dict) -> list[tuple[str, str, str, str]]:
    """(code, level, message, suggestion) for one normalized row; the message gets the row number in front."""
    found = []
    if not _text(example["prompt"]):
        found.append(("empty_prompt", "error", "has no prompt.", "Write the prompt, or drop the row."))
    sides = ("chosen", "rejected") if "chosen" in example else ("completion",)
    for side in sides:
        if not _text(example[side]):
            found.append((f"empty_{side}", "error", f"has an empty '{side}' answer.",
                          f"Write the {side} answer, or drop the row."))
        elif any(m["role"] != "assistant" for m in example[side]):
            found.append(("broken_conversation", "error", f"the '{side}' side holds turns that are not the "
                          "assistant's.", "Put the earlier turns in the prompt; each side holds only the answer."))
    if "chosen" in example and _text(example["chosen"]) and _text(example["chosen"]) == _text(example["rejected"]):
        found.append(("identical_pair", "error", "has the same chosen and rejected answer: nothing to learn.",
                      "Make the rejected answer the worse one, or drop the row."))
    return found


def length_bias(examples: list[dict]) -> float | None:
    """How much longer chosen answers are than rejected ones on average (None without pairs)."""
    pairs = [(len(_text(e["chosen"])), len(_text(e["rejected"]))) for e in examples if "chosen" in e]
    if not pairs:
        return None
    return sum(c for c, _ in pairs) / max(1, sum(r for _, r in pairs))
