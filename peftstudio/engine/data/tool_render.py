"""A conversation with tools as the model's chat template sees it.

Templates that take tools (Qwen2.5/3, Llama 3.1+, Mistral, SmolLM3...: their source mentions `tools`) get the
OpenAI message shape and `tools=` (transformers renders them). Templates that do not (the demo model's) get the
**tools-in-system-prompt fallback**, the Hermes convention most open tool-calling models learned:

    system:    TOOLS_PREAMBLE, then <tools> one JSON function per line </tools> (after the row's own system text)
    assistant: its text, then <tool_call>{"name": ..., "arguments": {...}}</tool_call> for each call
    tool:      <tool_response>result</tool_response> as a `tool` turn (a `user` turn where the template refuses
               roles other than system, user and assistant)

The export writes the same layout into the GGUF's chat template and the Modelfile (export/tool_templates.py), so
the exported model is asked for tools the way it was taught. The loss falls on assistant turns, calls
included; tool results and the tool list are read, never learned.
"""
from __future__ import annotations

import json

from peftstudio.engine.data.tool_calls import has_tools

TOOLS_PREAMBLE = ("You may call one or more functions to help with the user's request. The functions are listed "
                  "in <tools></tools>. To call one, write <tool_call>{\"name\": NAME, \"arguments\": {...}}"
                  "</tool_call>; its result comes back in <tool_response></tool_response>.")


def template_supports_tools(tokenizer) -> bool:
    template = getattr(tokenizer, "chat_template", None) or ""
    if isinstance(template, dict):  # several named templates: the one for tools, or the default
        template = template.get("tool_use") or template.get("default") or ""
    return "tools" in template


def tools_system_text(tools: list[dict]) -> str:
    listed = "\n".join(json.dumps(t["function"], ensure_ascii=False) for t in tools)
    return f"{TOOLS_PREAMBLE}\n<tools>\n{listed}\n</tools>"


def call_text(call: dict) -> str:
    return "<tool_call>\n" + json.dumps({"name": call["name"], "arguments": call["arguments"]},
                                        ensure_ascii=False) + "\n</tool_call>"


def native_messages(example: dict) -> list[dict]:
    """The OpenAI shape transformers' templates take (arguments as objects, which they serialise themselves)."""
    out = []
    for message in example["messages"]:
        if message.get("tool_calls"):
            out.append({"role": "assistant", "content": message.get("content") or "",
                        "tool_calls": [{"type": "function", "id": c["id"],
                                        "function": {"name": c["name"], "arguments": c["arguments"]}}
                                       for c in message["tool_calls"]]})
        elif message["role"] == "tool":
            out.append({"role": "tool", "content": message["content"], "tool_call_id": message.get("tool_call_id"),
                        "name": message.get("name")})
        else:
            out.append({"role": message["role"], "content": message["content"]})
    return out


def fallback_messages(example: dict, tool_role: str = "tool") -> list[dict]:
    """Plain system/user/assistant(/tool) turns in the Hermes layout above."""
    out = []
    for message in example["messages"]:
        if message.get("tool_calls"):
            text = "\n".join(filter(None, [message.get("content") or ""] + [call_text(c)
                                                                             for c in message["tool_calls"]]))
            out.append({"role": "assistant", "content": text})
        elif message["role"] == "tool":
            out.append({"role": tool_role, "content": f"<tool_response>\n{message['content']}\n</tool_response>"})
        else:
            out.append({"role": message["role"], "content": message["content"]})
    if example.get("tools"):
        tools = tools_system_text(example["tools"])
        if out and out[0]["role"] == "system":
            out[0] = {"role": "system", "content": f"{out[0]['content']}\n\n{tools}"}
        else:
            out.insert(0, {"role": "system", "content": tools})
    return out


_TOOL_ROLE: dict[str, str] = {}  # chat template -> the role its tool results take (probed once per template)


def tool_result_role(tokenizer) -> str:
    """`tool`, or `user` for a template that refuses other roles (jinja raise_exception)."""
    template = str(getattr(tokenizer, "chat_template", None) or "")
    if template not in _TOOL_ROLE:
        probe = [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"},
                 {"role": "tool", "content": "z"}]
        try:
            tokenizer.apply_chat_template(probe, tokenize=False)
            _TOOL_ROLE[template] = "tool"
        except Exception:  # noqa: BLE001 - any refusal of the role means results go in as the user's turn
            _TOOL_ROLE[template] = "user"
    return _TOOL_ROLE[template]


def template_inputs(tokenizer, example: dict) -> tuple[list[dict], dict]:
    """(messages, extra keywords for apply_chat_template) for any example; plain ones pass through unchanged."""
    if not has_tools(example):
        return example["messages"], {}
    if template_supports_tools(tokenizer):
        return native_messages(example), ({"tools": example["tools"]} if example.get("tools") else {})
    return fallback_messages(example, tool_role=tool_result_role(tokenizer)), {}
