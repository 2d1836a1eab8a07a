"""Ollama: a folder with the GGUF, a Modelfile and install instructions.

The Modelfile's TEMPLATE is the model's own chat template translated to Go text/template (see
chat_format); PARAMETER stop lists the end-of-turn tokens, and the other PARAMETERs are the playground's
sampling settings (engine/sampling.py); SYSTEM carries the run's system prompt, or
the default one the model's template inserts, because Ollama only adds a system message it is given.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from peftstudio.engine.export.chat_format import ChatFormat
from peftstudio.engine.sampling import Sampling

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def modelfile_text(value: str) -> str:
    """A value safe inside a Modelfile triple-quoted string (which has no escapes)."""
    text = _CONTROL.sub("", value).replace('"""', "'''")
    return text + " " if text.endswith('"') else text  # a closing quote would merge with the delimiter


def _line_text(value: str) -> str:
    """A value for a one-line instruction: no control characters at all."""
    return "".join(c for c in value if c.isprintable())


@dataclass
class OllamaPackage:
    model_name: str
    gguf_file: str
    template: str | None
    stops: list[str]
    system: str | None
    context_length: int | None = None  # only set when longer than Ollama's default context
    tools: bool = False  # an agent's TEMPLATE, with .Tools and .ToolCalls (export/tool_templates.py)
    # the playground's sampling (engine/sampling.py), so Ollama answers as the model did when it was tried;
    # not its answer length (num_predict): a chat app's answers should end when the model ends them
    sampling: dict = field(default_factory=lambda: {k: v for k, v in Sampling().ollama().items()
                                                    if k != "num_predict"})

    def modelfile(self) -> str:
        lines = ["# Modelfile written by PEFT Studio", f"FROM ./{self.gguf_file}"]
        if self.template is not None:
            lines.append(f'TEMPLATE """{modelfile_text(self.template)}"""')
        for stop in filter(None, map(_line_text, self.stops)):
            lines.append(f"PARAMETER stop {_quoted(stop)}")
        if self.context_length:
            lines.append(f"PARAMETER num_ctx {int(self.context_length)}")
        for name, value in self.sampling.items():
            lines.append(f"PARAMETER {name} {value:g}")
        if self.system and modelfile_text(self.system).strip():
            lines.append(f'SYSTEM """{modelfile_text(self.system)}"""')
        return "\n".join(lines) + "\n"

    def instructions(self) -> str:
        template_note = ("The chat format in the Modelfile was translated from the model's own chat template."
                         if self.template is not None else
                         "The Modelfile has no TEMPLATE: Ollama uses the chat template stored in the GGUF file.")
        if self.tools:
            template_note += (" It passes tools the way the model was taught: give them in the `tools` field of "
                              "Ollama's chat API and the model's calls come back as `tool_calls`.")
        return "\n".join([
            f"# {self.model_name} for Ollama", "",
            "1. Install Ollama from https://ollama.com (it runs the model on this machine).",
            "2. In a terminal, in this folder:", "",
            "```sh", f"ollama create {self.model_name} -f Modelfile", f"ollama run {self.model_name}", "```", "",
            template_note,
            "`VERIFICATION.md` shows the check PEFT Studio ran on the GGUF file.", ""])


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def build_package(model_name: str, gguf_file: str, chat: ChatFormat | None, stops: list[str],
                  system_prompt: str | None, context_length: int | None, agent=None) -> OllamaPackage:
    """`agent` (export/tool_templates.AgentTemplates) for a run taught on tool conversations."""
    if agent is not None:
        # an agent's template writes the model's default system message itself: a SYSTEM line would put it
        # before the tool list, where training had none
        template = agent.go if agent.go is not None and '"""' not in agent.go else None
        return OllamaPackage(model_name=model_name, gguf_file=gguf_file, template=template, stops=stops,
                             system=system_prompt, context_length=context_length, tools=template is not None)
    template = chat.go_template() if chat is not None and '"""' not in chat.go_template() else None
    system = system_prompt or (chat.default_system if chat is not None else None)
    return OllamaPackage(model_name=model_name, gguf_file=gguf_file, template=template, stops=stops, system=system,
                         context_length=context_length)


def parse_modelfile(text: str) -> dict:
    """Read a Modelfile back (FROM, TEMPLATE, SYSTEM, PARAMETER lists); used by the checks and tests."""
    result: dict = {"parameters": {}}
    pos = 0
    pattern = re.compile(r'(#[^\n]*\n)|(FROM|TEMPLATE|SYSTEM|PARAMETER)[ \t]+("""(.*?)"""|[^\n]*)\n?', re.S)
    while pos < len(text):
        if text[pos] in "\n":
            pos += 1
            continue
        match = pattern.match(text, pos)
        if match is None:
            raise ValueError(f"unreadable Modelfile line at {pos}: {text[pos:pos + 40]!r}")
        pos = match.end()
        if match.group(1):
            continue
        keyword, raw, quoted = match.group(2), match.group(3), match.group(4)
        value = quoted if quoted is not None else raw.strip()
        if keyword == "PARAMETER":
            name, _, argument = value.partition(" ")
            argument = argument.strip()
            if argument.startswith('"'):
                argument = argument[1:-1].replace('\\"', '"').replace("\\\\", "\\")
            result["parameters"].setdefault(name, []).append(argument)
        else:
            result[keyword.lower()] = value
    return result
