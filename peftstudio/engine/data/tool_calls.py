"""Tool calls in datasets: three ways of writing them, one shape inside, and the checks with row numbers.

Read (by content, whatever the file calls its columns):
  OpenAI chat    a `tools` list of JSON-schema functions; assistant messages with `tool_calls`
                 (`function.name`, `function.arguments` as a JSON string or an object); `tool` messages with
                 `tool_call_id`
  ShareGPT       `function_call` turns (a JSON {"name", "arguments"}) and `observation` turns (the result), with a
                 `tools` column (a JSON string or a list), as the web-UI peer writes them
  Hermes         `<tool_call>{"name": ..., "arguments": {...}}</tool_call>` inside assistant text, results in
                 `tool` turns or `<tool_response>` blocks, tools in a `<tools>` block of the system prompt
One shape inside (what schema.normalize_row returns for such a row):
  {"messages": [..., {"role": "assistant", "content": "", "tool_calls": [{"id", "name", "arguments": {...}}]},
                {"role": "tool", "content": "...", "tool_call_id": "...", "name": "..."}, ...],
   "tools": [{"type": "function", "function": {"name", "description", "parameters"}}]}
No library reads these three formats into one (transformers renders the OpenAI one; TRL expects it already
made), so the reading is written here; JSON-schema checks are jsonschema's.
"""
from __future__ import annotations

import json
import re

TOOL_CALL = re.compile(r"<tool_call>\s*(.*?)\s*</tool_call>", re.DOTALL)
TOOL_RESPONSE = re.compile(r"^\s*<tool_response>\s*(.*?)\s*</tool_response>\s*$", re.DOTALL)
TOOLS_BLOCK = re.compile(r"<tools>\s*(.*?)\s*</tools>", re.DOTALL)


class NotJSON(str):
    """Arguments that did not parse: kept as written, so the check can name the row and show them."""


def parse_arguments(value):
    """A call's arguments as a dict (a JSON string or an object), or NotJSON(text) when they are not JSON."""
    if isinstance(value, dict):
        return value
    if value is None or (isinstance(value, str) and not value.strip()):
        return {}
    try:
        parsed = json.loads(value) if isinstance(value, str) else value
    except (TypeError, ValueError):
        return NotJSON(str(value))
    return parsed if isinstance(parsed, dict) else NotJSON(str(value))


def read_tools(value) -> list[dict]:
    """The declared tools (a list, or a JSON string of one) as OpenAI function entries; bare functions are wrapped."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else []
        except ValueError:
            return []
    if isinstance(value, dict):
        value = [value]
    tools = []
    for tool in value or []:
        if not isinstance(tool, dict):
            continue
        function = tool.get("function") if isinstance(tool.get("function"), dict) else tool
        if isinstance(function.get("name"), str):
            tools.append({"type": "function", "function": {"name": function["name"],
                                                           "description": function.get("description", ""),
                                                           "parameters": function.get("parameters") or {}}})
    return tools


def tool_names(tools: list[dict]) -> set[str]:
    return {t["function"]["name"] for t in tools}


def openai_call(call: dict, index: int, turn: int) -> dict:
    function = call.get("function") if isinstance(call.get("function"), dict) else call
    return {"id": str(call.get("id") or f"call_{turn}_{index}"), "name": str(function.get("name") or ""),
            "arguments": parse_arguments(function.get("arguments"))}


def hermes_calls(text: str, turn: int) -> tuple[str, list[dict]]:
    """The assistant text without its <tool_call> blocks, and the calls they held."""
    calls = []
    for index, match in enumerate(TOOL_CALL.finditer(text)):
        try:
            body = json.loads(match.group(1))
        except ValueError:
            body = {"name": "", "arguments": NotJSON(match.group(1))}
        if not isinstance(body, dict):
            body = {"name": "", "arguments": NotJSON(match.group(1))}
        calls.append({"id": f"call_{turn}_{index}", "name": str(body.get("name") or ""),
                      "arguments": parse_arguments(body.get("arguments", body.get("parameters")))})
    return TOOL_CALL.sub("", text).strip(), calls


def link_results(messages: list[dict]) -> list[dict]:
    """Tool results without an id take the id of the oldest call still waiting for one (the order the calls were
    made in, as ShareGPT and Hermes files give them)."""
    if not any(m["role"] == "tool" for m in messages):
        return messages
    waiting: list[dict] = []
    for message in messages:
        if message["role"] == "assistant":
            waiting = list(message.get("tool_calls") or [])
        elif message["role"] == "tool":
            if not message.get("tool_call_id") and waiting:
                call = waiting.pop(0)
                message["tool_call_id"] = call["id"]
                message.setdefault("name", call["name"])
            elif message.get("tool_call_id"):
                waiting = [c for c in waiting if c["id"] != message["tool_call_id"]]
    return messages


def from_hermes_text(messages: list[dict], tools: list[dict]) -> tuple[list[dict], list[dict]]:
    """Hermes-style calls inside assistant text, <tool_response> results and a <tools> system block, as the shape."""
    if not any("<tool" in (m.get("content") or "") for m in messages):
        return messages, tools  # the common case, a plain conversation: nothing copied (validation streams rows)
    out = []
    for turn, message in enumerate(messages):
        message = dict(message)
        content = message.get("content") or ""
        if message["role"] == "assistant" and "<tool_call>" in content and not message.get("tool_calls"):
            message["content"], message["tool_calls"] = hermes_calls(content, turn)
        elif message["role"] in ("user", "tool") and (response := TOOL_RESPONSE.match(content)):
            message = dict(message, role="tool", content=response.group(1))
        elif message["role"] == "system" and not tools and (block := TOOLS_BLOCK.search(content)):
            lines = [line for line in block.group(1).splitlines() if line.strip()]
            tools = read_tools("[" + ",".join(lines) + "]") or read_tools(block.group(1))
            if tools:  # the list now travels as the example's tools; the template writes it back where it goes
                message["content"] = TOOLS_BLOCK.sub("", content).strip()
        out.append(message)
    return out, tools


def has_tools(example: dict) -> bool:
    return bool(example.get("tools")) or any(m.get("tool_calls") or m["role"] == "tool"
                                             for m in example.get("messages", ()))


def tool_problems(example: dict, line: int) -> list[tuple[str, str, str, str, bool]]:
    """(code, level, message, suggestion, fixable) for one example's calls and results."""
    from jsonschema import Draft202012Validator  # lazy: only rows with calls need it

    problems = []
    tools = {t["function"]["name"]: t["function"] for t in example.get("tools") or []}
    waiting: dict[str, str] = {}  # call id -> function name, calls without their result yet
    for message in example["messages"]:
        if message["role"] == "assistant":
            if waiting:
                problems.append(("tool_result_missing", "error",
                                 f"Row {line}: the call to '{next(iter(waiting.values()))}' has no result before "
                                 "the assistant speaks again.",
                                 "Add a tool turn with the call's result after the call.", False))
            waiting = {}
            for call in message.get("tool_calls") or []:
                waiting[call["id"]] = call["name"]
                if isinstance(call["arguments"], NotJSON):
                    problems.append(("tool_arguments_not_json", "error",
                                     f"Row {line}: the arguments of the call to '{call['name']}' are not a JSON "
                                     f"object ({str(call['arguments'])[:60]}).",
                                     "Write the arguments as a JSON object, e.g. {\"city\": \"Paris\"}.", False))
                elif tools and call["name"] not in tools:
                    problems.append(("tool_undeclared", "error",
                                     f"Row {line}: the call is to '{call['name']}', which the row's tools do not "
                                     f"declare ({', '.join(sorted(tools))}).",
                                     "Add the function to the row's tools, or correct the name.", False))
                elif call["name"] in tools:
                    try:
                        errors = sorted(Draft202012Validator(tools[call["name"]].get("parameters") or {})
                                        .iter_errors(call["arguments"]), key=lambda e: list(map(str, e.path)))
                    except Exception as exc:  # noqa: BLE001 - the tool's own schema is broken, not the call
                        problems.append(("tool_schema_invalid", "warning",
                                         f"Row {line}: the parameters of '{call['name']}' are not a usable JSON "
                                         f"schema ({str(exc).splitlines()[0][:80]}), so its calls go unchecked.",
                                         "Correct the function's parameters in the tools list.", False))
                        errors = []
                    if errors:
                        where = "/".join(map(str, errors[0].path)) or "arguments"
                        problems.append(("tool_arguments_schema", "error",
                                         f"Row {line}: the call to '{call['name']}' does not match its parameters "
                                         f"({where}: {errors[0].message[:80]}).",
                                         "Correct the arguments, or the function's parameters in the tools list.",
                                         False))
        elif message["role"] == "tool":
            call_id = message.get("tool_call_id")
            if call_id in waiting:
                del waiting[call_id]
            elif not waiting:
                problems.append(("tool_result_without_call", "error",
                                 f"Row {line}: a tool result comes with no call before it.",
                                 "Let 'Fix automatically' drop the stray result, or add the call it answers.", True))
            else:
                problems.append(("tool_id_mismatch", "error",
                                 f"Row {line}: a tool result answers call id '{call_id}', which no call has.",
                                 "Let 'Fix automatically' give it the id of the waiting call.", len(waiting) == 1))
                del waiting[next(iter(waiting))]  # it answers one of them: said once, not again as a missing result
    if not example.get("tools") and any(m.get("tool_calls") for m in example["messages"]):
        problems.append(("tools_undeclared", "warning",
                         f"Row {line} calls tools but declares none: the model will learn the calls without "
                         "seeing what it may call.",
                         "Add a 'tools' list to the row (the functions' JSON schemas).", False))
    return problems


def repair_tool_turns(example: dict) -> tuple[dict, list[str]]:
    """The safe fixes: a stray result (no call before it) dropped; a result with a wrong id given the id of the one
    call waiting for it. Returns the example and what was done."""
    done, messages, waiting = [], [], {}
    for message in example["messages"]:
        if message["role"] == "assistant":
            waiting = {c["id"]: c["name"] for c in message.get("tool_calls") or []}
        elif message["role"] == "tool":
            call_id = message.get("tool_call_id")
            if not waiting:
                done.append("dropped a tool result that answers no call")
                continue
            if call_id not in waiting and len(waiting) == 1:
                message = dict(message, tool_call_id=next(iter(waiting)))
                done.append("gave a tool result the id of the call it answers")
            waiting.pop(message.get("tool_call_id"), None)
        messages.append(message)
    return dict(example, messages=messages), done


BARE_CALL = re.compile(r"^\s*(\{.*\})\s*$", re.DOTALL)


def calls_in_text(text: str) -> tuple[list[dict], bool]:
    """The calls a model wrote ([{"name", "arguments"}]) and whether all of them were valid JSON: Hermes
    <tool_call> blocks, or an answer that is nothing but one {"name": ..., "arguments": ...} object (the Llama 3.1
    convention)."""
    _, calls = hermes_calls(text, 0)
    if not calls and (bare := BARE_CALL.match(text)):
        try:
            body = json.loads(bare.group(1))
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("name"), str) and ("arguments" in body or
                                                                             "parameters" in body):
            calls = [{"name": body["name"], "arguments": parse_arguments(body.get("arguments",
                                                                                 body.get("parameters")))}]
    valid = all(not isinstance(c["arguments"], NotJSON) for c in calls)
    return [{"name": c["name"], "arguments": c["arguments"] if not isinstance(c["arguments"], NotJSON) else None}
            for c in calls], valid


def assistant_turn(text: str, turn: int) -> dict:
    """A model's answer as a conversation turn: its words, and its calls (with ids) when it made any, in the
    shape above, so the conversation can go on with the calls' results."""
    words, calls = hermes_calls(text, turn)
    if not calls:
        found, _ = calls_in_text(text)  # the bare-JSON convention
        words, calls = ("", [dict(c, id=f"call_{turn}_0") for c in found[:1]]) if found else (text, [])
    calls = [dict(c, arguments=c["arguments"] if isinstance(c["arguments"], dict) else {}) for c in calls]
    return {"role": "assistant", "content": words, "tool_calls": calls} if calls else \
        {"role": "assistant", "content": text}


def mock_result(call: dict) -> str:
    """A stand-in result for trying a call without the real tool: says which call it answers, as JSON."""
    return json.dumps({"ok": True, "tool": call.get("name", ""), "arguments": call.get("arguments") or {},
                       "note": "mock result from the playground"}, ensure_ascii=False)
