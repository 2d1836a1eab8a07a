"""Which schema a dataset uses, and its rows normalized to chat messages.

Normalized example: {"messages": [{"role": ..., "content": ...}, ...]} for instruction data,
or {"text": ...} for plain text (continued pre-training, loss on every token).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from peftstudio.engine.data import tool_calls
from peftstudio.engine.data.preference import PREFERENCE_SCHEMAS, is_preference, preference_example, sft_view
from peftstudio.engine.errors import PlainError

SHAREGPT_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
                  "system": "system", "bot": "assistant", "model": "assistant"}
PROMPT_ALIASES = ("prompt", "question", "query", "instruction", "input", "context", "source", "request")
RESPONSE_ALIASES = ("completion", "answer", "response", "output", "target", "reply", "chosen")


@dataclass
class Schema:
    name: str  # openai | sharegpt | alpaca | prompt_completion | question_answer | text | mapped | preference | kto
    mapping: dict[str, str] = field(default_factory=dict)  # for "mapped": prompt/response -> column
    suggested: bool = False  # a mapping guessed from column names, for the user to confirm

    @property
    def required_fields(self) -> tuple[str, ...]:
        return {"openai": ("messages",), "sharegpt": ("conversations",), "alpaca": ("instruction", "output"),
                "prompt_completion": ("prompt", "completion"), "question_answer": ("question", "answer"),
                "text": (self.mapping.get("text", "text"),),
                "mapped": (self.mapping.get("prompt", ""), self.mapping.get("response", "")),
                "preference": ("chosen", "rejected"), "kto": ("prompt", "completion", "label")}[self.name]

    @property
    def is_preference(self) -> bool:
        return self.name in PREFERENCE_SCHEMAS

    def to_dict(self) -> dict:
        return {"name": self.name, "mapping": dict(self.mapping), "suggested": self.suggested}


def detect_schema(rows: list[dict], column_mapping: dict[str, str] | None = None) -> Schema:
    """The schema of these rows; a PlainError when neither known names nor a mapping fit."""
    schema = guess_schema(rows, column_mapping)
    if schema is not None:
        return schema
    keys = set().union(*(r.keys() for r in rows[:50])) if rows else set()
    raise PlainError(
        title="PEFT Studio does not recognise the dataset's columns",
        what=f"The columns are: {', '.join(sorted(map(str, keys))) or 'none'}.",
        why="Examples need a prompt and a response (for instance 'instruction' and 'output'), "
            "chat 'messages', or a 'text' column.",
        actions=["Rename the columns to instruction/output or prompt/completion.",
                 "Tell PEFT Studio which column is the prompt and which is the response (column mapping).",
                 "See the dataset help page for the supported shapes."],
        help_topic="datasets",
    )


def guess_schema(rows: list[dict], column_mapping: dict[str, str] | None = None) -> Schema | None:
    if column_mapping:
        return Schema("mapped", dict(column_mapping))
    keys = set().union(*(r.keys() for r in rows[:200])) if rows else set()
    preference = is_preference(keys)  # before the others: 'chosen' alone reads as a response, 'prompt' as a prompt
    if preference:
        return Schema(preference)
    if "messages" in keys:
        return Schema("openai")
    if "conversations" in keys:
        return Schema("sharegpt")
    if {"instruction", "output"} <= keys:
        return Schema("alpaca")
    if {"prompt", "completion"} <= keys:
        return Schema("prompt_completion")
    if {"question", "answer"} <= keys:
        return Schema("question_answer")
    prompt = next((k for k in PROMPT_ALIASES if k in keys), None)
    response = next((k for k in RESPONSE_ALIASES if k in keys), None)
    if prompt and response:
        return Schema("mapped", {"prompt": prompt, "response": response}, suggested=True)
    if "text" in keys or "content" in keys:
        return Schema("text", {"text": "text" if "text" in keys else "content"})
    return None


def _text(value) -> str:
    return "" if value is None else str(value)


REASONING_KEYS = ("reasoning_content", "reasoning", "thinking")


def _with_reasoning(message: dict) -> str:
    """The message's content, with a separate reasoning field (as OpenAI-style reasoning datasets keep it) put
    back in front as the <think> block that chat templates and the `thinking` setting understand."""
    content = _text(message.get("content"))
    reasoning = next((message[k] for k in REASONING_KEYS if isinstance(message.get(k), str) and message[k].strip()),
                     None)
    if reasoning is None or message.get("role") != "assistant" or "</think>" in content:
        return content
    return f"<think>\n{reasoning.strip()}\n</think>\n\n{content.lstrip()}"


def normalize_row(row: dict, schema: Schema, system_prompt: str | None = None,
                  require_exchange: bool = True) -> dict | None:
    """One row as a normalized example, or None when it has nothing to learn from (with require_exchange=False a
    conversation in which no assistant turn answers a user is still returned: validate and repair say so)."""
    if schema.name in PREFERENCE_SCHEMAS:  # the supervised view: the prompt and the chosen (or good) answer
        example = preference_example(row, schema.name, system_prompt)
        return sft_view(example) if example is not None else None
    if schema.name == "text":
        text = _text(row.get(schema.mapping.get("text", "text"))).strip()
        return {"text": text} if text else None
    tools: list[dict] = []
    if schema.name == "openai":
        messages = [_openai_message(m, turn) for turn, m in enumerate(row.get("messages") or [])
                    if isinstance(m, dict)]
        tools = tool_calls.read_tools(row.get("tools"))
    elif schema.name == "sharegpt":
        messages = [_sharegpt_message(m, turn) for turn, m in enumerate(row.get("conversations") or [])
                    if isinstance(m, dict)]
        tools = tool_calls.read_tools(row.get("tools"))
    else:
        if schema.name == "alpaca":
            instruction, extra = _text(row.get("instruction")).strip(), _text(row.get("input")).strip()
            prompt = f"{instruction}\n\n{extra}" if extra else instruction
            response = _text(row.get("output"))
        elif schema.name == "prompt_completion":
            prompt, response = _text(row.get("prompt")), _text(row.get("completion"))
        elif schema.name == "question_answer":
            prompt, response = _text(row.get("question")), _text(row.get("answer"))
        else:
            prompt, response = _text(row.get(schema.mapping["prompt"])), _text(row.get(schema.mapping["response"]))
        messages = [{"role": "user", "content": prompt.strip()}, {"role": "assistant", "content": response.strip()}]
    if schema.name in ("openai", "sharegpt"):
        messages, tools = tool_calls.from_hermes_text(messages, tools)
        messages = tool_calls.link_results(messages)
    if system_prompt and not any(m["role"] == "system" for m in messages):
        messages.insert(0, {"role": "system", "content": system_prompt})
    if not any(m["role"] == "assistant" and (m["content"].strip() or m.get("tool_calls")) for m in messages):
        return None
    if not any(m["role"] == "user" and m["content"].strip() for m in messages):
        return None
    if require_exchange and not has_exchange(messages):
        return None
    return {"messages": messages, "tools": tools} if tools else {"messages": messages}


def has_exchange(messages: list[dict]) -> bool:
    """True when some assistant turn answers a user turn before it: the least a conversation needs to be learned
    from (a lone assistant turn, or one only followed by a question, gives the model no prompt to answer)."""
    asked = False
    for m in messages:
        asked = asked or (m["role"] == "user" and bool(m["content"].strip()))
        if asked and m["role"] == "assistant":
            return True
    return False


def _openai_message(m: dict, turn: int) -> dict:
    message = {"role": _text(m.get("role")), "content": _with_reasoning(m)}
    if message["role"] == "assistant" and isinstance(m.get("tool_calls"), list) and m["tool_calls"]:
        message["tool_calls"] = [tool_calls.openai_call(c, i, turn) for i, c in enumerate(m["tool_calls"])
                                 if isinstance(c, dict)]
    elif message["role"] in ("tool", "function"):  # "function": the older OpenAI name of the same turn
        message["role"] = "tool"
        message.update({k: _text(m[k]) for k in ("tool_call_id", "name") if m.get(k)})
    return message


def _sharegpt_message(m: dict, turn: int) -> dict:
    speaker, value = _text(m.get("from")).lower(), _text(m.get("value"))
    if speaker == "function_call":  # the web-UI peer's call turn: {"name", "arguments"} as JSON
        try:
            body = json.loads(value)
        except ValueError:
            body = None
        calls = body if isinstance(body, list) else [body]
        if not all(isinstance(c, dict) for c in calls):
            return {"role": "assistant", "content": "",
                    "tool_calls": [{"id": f"call_{turn}_0", "name": "", "arguments": tool_calls.NotJSON(value)}]}
        return {"role": "assistant", "content": "",
                "tool_calls": [tool_calls.openai_call(c, i, turn) for i, c in enumerate(calls)]}
    if speaker in ("observation", "tool"):
        return {"role": "tool", "content": value}
    return {"role": SHAREGPT_ROLES.get(speaker, "user"), "content": value}
