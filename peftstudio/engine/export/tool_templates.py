"""Chat templates with tools for an exported agent, in the layout it was taught (data/tool_render.py).

A run taught on tool conversations with a template that has no tools of its own (the demo model's) learned the
tools-in-system-prompt fallback. Its exports must ask for tools the same way, so two templates are written here:

- the GGUF's chat template (Jinja: llama.cpp's server, LM Studio, transformers): a short prelude rewrites the
  OpenAI-shaped `messages` and `tools` into the fallback's plain turns, then the model's own template renders them.
  JSON is written with `tojson`, which in transformers and llama.cpp is Python's `json.dumps` with its default
  separators and the keys in their given order: the text the run trained on, character for character.
- the Modelfile's TEMPLATE (Ollama's Go text/template): the same layout built from the template's pieces
  (export/chat_format.py) with Ollama's conventions, `.Tools` (each `.Function` printed as JSON) and
  `.ToolCalls` (`.Function.Name`, `.Function.Arguments`); Ollama finds the calls in an answer by the text after
  `{{ if .ToolCalls }}`, here `<tool_call>`. Ollama prints that JSON the Go way (compact, its own key order), so
  inside Ollama the JSON in the tool list and past calls is spaced differently from training; the layout, the
  tags and the roles are the same.

A template that takes tools natively keeps its own Jinja; its Modelfile then has no TEMPLATE, so that Ollama
uses its own template for that family (they carry `.Tools`).
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from peftstudio.engine.data.tool_render import TOOLS_PREAMBLE, template_supports_tools, tool_result_role
from peftstudio.engine.export.chat_format import ChatFormat, probe_chat_format

_TOOL_PROBE = "TOOLRESULTPROBE"


def _jinja_text(text: str) -> str:
    """A Python string as a Jinja string literal (JSON's escapes are Jinja's)."""
    return json.dumps(text)


def jinja_with_tools(original: str, tool_role: str) -> str:
    """The model's own Jinja template behind a prelude that renders tools in the fallback layout."""
    preamble = _jinja_text(TOOLS_PREAMBLE + "\n<tools>\n")
    role = _jinja_text(tool_role)
    steps = [
        "set ns = namespace(turns=[], tools='', text='')",
        "if tools",
        f"set ns.tools = {preamble}",
        "for tool in tools",
        "set ns.tools = ns.tools ~ ((tool.function if tool.function is defined else tool) | tojson)"
        " ~ ('' if loop.last else '\\n')",
        "endfor",
        "set ns.tools = ns.tools ~ '\\n</tools>'",
        "if not (messages and messages[0].role == 'system')",
        "set ns.turns = [{'role': 'system', 'content': ns.tools}]",
        "endif",
        "endif",
        "for message in messages",
        "if loop.first and ns.tools and message.role == 'system'",
        "set ns.turns = ns.turns + [{'role': 'system', 'content': (message.content or '') ~ '\\n\\n' ~ ns.tools}]",
        "elif message.role == 'assistant' and message.tool_calls",
        "set ns.text = message.content or ''",
        "for call in message.tool_calls",
        "set fn = call.function if call.function is defined else call",
        "set arguments = fn.arguments if fn.arguments is string else (fn.arguments | tojson)",
        "set piece = '<tool_call>\\n{\"name\": ' ~ (fn.name | tojson) ~ ', \"arguments\": ' ~ arguments"
        " ~ '}\\n</tool_call>'",
        "set ns.text = (ns.text ~ '\\n' ~ piece) if ns.text else piece",
        "endfor",
        "set ns.turns = ns.turns + [{'role': 'assistant', 'content': ns.text}]",
        "elif message.role == 'tool'",
        f"set ns.turns = ns.turns + [{{'role': {role}, "
        "'content': '<tool_response>\\n' ~ message.content ~ '\\n</tool_response>'}]",
        "else",
        "set ns.turns = ns.turns + [message]",
        "endif",
        "endfor",
        "set messages = ns.turns",
    ]
    # every tag trims the text around it, so the prelude itself renders nothing; the last one leaves the
    # model's template as it starts
    prelude = "".join("{%- " + step + " -%}" for step in steps[:-1]) + "{%- " + steps[-1] + " %}"
    return prelude + original


def probe_tool_turn(tokenizer, chat: ChatFormat) -> tuple[str, str] | None:
    """(prefix, suffix) the model's template puts around a `tool` turn, or None if it is not a plain wrapper."""
    turns = [{"role": "user", "content": "USERPROBE"}, {"role": "assistant", "content": "ASSISTANTPROBE"}]
    try:
        text = tokenizer.apply_chat_template(turns + [{"role": "tool", "content": _TOOL_PROBE}], tokenize=False)
    except Exception:  # noqa: BLE001 - a template that refuses the role has no tool turn to probe
        return None
    before = chat.render(turns)
    if text.count(_TOOL_PROBE) != 1 or not text.startswith(before):
        return None
    prefix, suffix = text[len(before):].split(_TOOL_PROBE)
    return prefix, suffix


def go_template_with_tools(chat: ChatFormat, tool_turn: tuple[str, str]) -> str:
    """The fallback layout as an Ollama TEMPLATE; `tool_turn` wraps a tool result (a user turn's pieces where the
    model's template refuses the `tool` role)."""
    def lit(text: str) -> str:
        return text.replace("{{", '{{ "{{" }}')

    tools_block = (lit(TOOLS_PREAMBLE) + "\n<tools>\n"
                   + "{{ range $k, $t := $.Tools }}{{ if $k }}\n{{ end }}{{ $t.Function }}{{ end }}\n</tools>")
    first_system = ""  # what comes first when the conversation does not start with a system message
    if chat.default_system is not None:
        first_system = ("{{ else }}" + lit(chat.system_prefix) + lit(chat.default_system) + lit(chat.system_suffix))
    calls = ("{{ if .ToolCalls }}<tool_call>\n{{ range $j, $c := .ToolCalls }}{{ if $j }}\n</tool_call>\n"
             '<tool_call>\n{{ end }}{"name": "{{ $c.Function.Name }}", "arguments": {{ $c.Function.Arguments }}}'
             "{{ end }}\n</tool_call>{{ end }}")
    return (
        lit(chat.begin)
        + '{{ if and .Messages (ne (index .Messages 0).Role "system") }}'
        + "{{ if .Tools }}" + lit(chat.system_prefix) + tools_block + lit(chat.system_suffix) + first_system
        + "{{ end }}{{ end }}"
        + "{{ range $i, $_ := .Messages }}{{ $last := eq (len (slice $.Messages $i)) 1 }}"
        + '{{ if eq .Role "system" }}' + lit(chat.system_prefix) + "{{ .Content }}"
        + "{{ if and $.Tools (eq $i 0) }}\n\n" + tools_block + "{{ end }}" + lit(chat.system_suffix)
        + '{{ else if eq .Role "user" }}' + lit(chat.user_prefix) + "{{ .Content }}" + lit(chat.user_suffix)
        + '{{ else if eq .Role "assistant" }}' + lit(chat.assistant_prefix)
        + "{{ if .Content }}{{ .Content }}{{ if .ToolCalls }}\n{{ end }}{{ end }}" + calls
        + "{{ if not $last }}" + lit(chat.assistant_suffix) + "{{ end }}"
        + '{{ else if eq .Role "tool" }}' + lit(tool_turn[0]) + "<tool_response>\n{{ .Content }}\n</tool_response>"
        + lit(tool_turn[1])
        + "{{ end }}"
        + '{{ if and $last (ne .Role "assistant") }}' + lit(chat.generation_prompt) + "{{ end }}"
        + "{{ end }}"
    )


@dataclass(frozen=True)
class AgentTemplates:
    """What an agent's export writes in place of the model's own templates."""
    native: bool  # the model's own template takes tools: it is kept, and Ollama uses its template for the family
    jinja: str | None = None  # the GGUF's and the Hugging Face tokenizer's chat template
    go: str | None = None  # the Modelfile's TEMPLATE (None: Ollama takes the template stored in the GGUF)


def agent_templates(tokenizer) -> AgentTemplates | None:
    """The templates for a run taught on tool conversations with this tokenizer (None: it has no chat template)."""
    if template_supports_tools(tokenizer):
        return AgentTemplates(native=True)
    own = getattr(tokenizer, "chat_template", None)
    own = own.get("default") if isinstance(own, dict) else own
    if not own:
        return None
    role = tool_result_role(tokenizer)
    chat = probe_chat_format(tokenizer)
    go = None
    if chat is not None:
        turn = probe_tool_turn(tokenizer, chat) if role == "tool" else (chat.user_prefix, chat.user_suffix)
        go = go_template_with_tools(chat, turn) if turn is not None else None
    return AgentTemplates(native=False, jinja=jinja_with_tools(own, role), go=go)
