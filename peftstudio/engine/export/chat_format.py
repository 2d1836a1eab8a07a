"""A model's chat template reduced to text pieces, so it can be written for other runtimes.

Most chat templates wrap each message in a fixed prefix and suffix per role (ChatML, Llama 3, Gemma,
Phi-3, Zephyr...). We find those pieces by rendering the model's own Jinja template around probe
messages, then check the pieces by re-rendering several conversations both ways. Templates that do
something else (Llama 2 folds the system prompt into the first [INST]) yield `None`, and exports then
rely on the chat template stored inside the GGUF file instead.
"""
from __future__ import annotations

from dataclasses import dataclass

_SYSTEM, _USER1, _ASSISTANT1, _USER2 = "SYSTEMPROBEX", "USERPROBEONE", "ASSISTANTPROBEONE", "USERPROBETWO"


@dataclass(frozen=True)
class ChatFormat:
    begin: str
    system_prefix: str
    system_suffix: str
    user_prefix: str
    user_suffix: str
    assistant_prefix: str
    assistant_suffix: str
    generation_prompt: str
    default_system: str | None = None

    def render(self, messages: list[dict], add_generation_prompt: bool = False) -> str:
        """What the model's template renders for these messages (the pieces' own renderer)."""
        if self.default_system is not None and not any(m["role"] == "system" for m in messages):
            messages = [{"role": "system", "content": self.default_system}] + list(messages)
        wrap = {"system": (self.system_prefix, self.system_suffix), "user": (self.user_prefix, self.user_suffix),
                "assistant": (self.assistant_prefix, self.assistant_suffix)}
        text = self.begin
        for message in messages:
            prefix, suffix = wrap[message["role"]]
            text += prefix + message["content"] + suffix
        return text + (self.generation_prompt if add_generation_prompt else "")

    def go_template(self) -> str:
        """The same format as an Ollama (Go text/template) TEMPLATE over `.Messages`.

        No `{{-` trimming is used: it would also eat the newlines that belong to the pieces.
        """
        def lit(text: str) -> str:
            return text.replace("{{", '{{ "{{" }}')

        return (
            lit(self.begin)
            + "{{ range $i, $_ := .Messages }}{{ $last := eq (len (slice $.Messages $i)) 1 }}"
            + '{{ if eq .Role "system" }}' + lit(self.system_prefix) + "{{ .Content }}" + lit(self.system_suffix)
            + '{{ else if eq .Role "user" }}' + lit(self.user_prefix) + "{{ .Content }}" + lit(self.user_suffix)
            + '{{ else if eq .Role "assistant" }}' + lit(self.assistant_prefix) + "{{ .Content }}"
            + "{{ if not $last }}" + lit(self.assistant_suffix) + "{{ end }}"
            + "{{ end }}"
            + '{{ if and $last (ne .Role "assistant") }}' + lit(self.generation_prompt) + "{{ end }}"
            + "{{ end }}"
        )


def _render(tokenizer, messages, add_generation_prompt):
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=add_generation_prompt)


def _between(text: str, *markers: str) -> list[str] | None:
    """Split `text` around the markers in order: [before m1, between m1 and m2, ..., after last]."""
    pieces, rest = [], text
    for marker in markers:
        if rest.count(marker) != 1:
            return None
        before, rest = rest.split(marker)
        pieces.append(before)
    return pieces + [rest]


def _strip_prefix(text: str, prefix: str) -> str | None:
    return text[len(prefix):] if text.startswith(prefix) else None


def _strip_suffix(text: str, suffix: str) -> str | None:
    if not suffix:
        return text
    return text[: -len(suffix)] if text.endswith(suffix) else None


def probe_chat_format(tokenizer) -> ChatFormat | None:
    """The pieces of the tokenizer's chat template, or None when it is not a per-role wrapper."""
    try:
        return _probe(tokenizer)
    except Exception:  # noqa: BLE001 - templates may raise on our probes (e.g. "roles must alternate")
        return None


def _probe(tokenizer) -> ChatFormat | None:
    s, u1, a1, u2 = ({"role": r, "content": c} for r, c in
                     (("system", _SYSTEM), ("user", _USER1), ("assistant", _ASSISTANT1), ("user", _USER2)))
    full = _between(_render(tokenizer, [s, u1, a1, u2], True), _SYSTEM, _USER1, _ASSISTANT1, _USER2)
    one_turn = _between(_render(tokenizer, [u1, a1], False), _USER1, _ASSISTANT1)
    user_only = _between(_render(tokenizer, [u1], False), _USER1)
    if not (full and one_turn and user_only):
        return None
    p0, p1, p2, p3, p4 = full
    head, _, assistant_suffix = one_turn
    user_suffix = user_only[1]
    user_prefix = _strip_prefix(p3, assistant_suffix)
    if user_prefix is None:
        return None
    system_suffix = _strip_suffix(p1, user_prefix)
    assistant_prefix = _strip_prefix(p2, user_suffix)
    generation_prompt = _strip_prefix(p4, user_suffix)
    if system_suffix is None or assistant_prefix is None or generation_prompt is None:
        return None
    found = _begin_and_default_system(p0, head, user_prefix, system_suffix)
    if found is None:
        return None
    begin, system_prefix, default_system = found
    chat = ChatFormat(begin, system_prefix, system_suffix, user_prefix, user_suffix, assistant_prefix,
                      assistant_suffix, generation_prompt, default_system)
    return chat if _agrees(tokenizer, chat) else None


def _begin_and_default_system(p0: str, head: str, user_prefix: str, system_suffix: str):
    """Split the start of the text into what begins every conversation and the system prefix.

    `head` is what comes before the first user message when there is no system message: either only
    the beginning, or the beginning plus a default system message that the template inserts.
    """
    start = _strip_suffix(head, user_prefix)
    if start is None:
        return None
    for cut in range(len(p0) + 1):
        begin, system_prefix = p0[:cut], p0[cut:]
        if start == begin:
            return begin, system_prefix, None
        if system_prefix and start.startswith(begin + system_prefix) and start.endswith(system_suffix):
            default = start[len(begin + system_prefix): len(start) - len(system_suffix)]
            return begin, system_prefix, default
    return None


def _agrees(tokenizer, chat: ChatFormat) -> bool:
    conversations = [
        [{"role": "user", "content": "Hi there"}],
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2?"},
         {"role": "assistant", "content": "4"}, {"role": "user", "content": "And 3+3?"}],
        [{"role": "user", "content": "a\nb"}, {"role": "assistant", "content": "c d"},
         {"role": "user", "content": "e"}, {"role": "assistant", "content": "f"}],
    ]
    for messages in conversations:
        for generation in (False, True):
            if _render(tokenizer, messages, generation) != chat.render(messages, generation):
                return False
    return True


def stop_strings(tokenizer, chat: ChatFormat | None) -> list[str]:
    """End-of-turn markers a runtime should stop at: the special tokens closing an answer, and EOS."""
    specials = [t for t in getattr(tokenizer, "all_special_tokens", []) if t]
    stops = []
    if chat is not None:
        for token in specials:
            if token in chat.assistant_suffix or token in chat.user_prefix.strip():
                stops.append(token)
    if tokenizer.eos_token and tokenizer.eos_token not in stops:
        stops.append(tokenizer.eos_token)
    return stops
