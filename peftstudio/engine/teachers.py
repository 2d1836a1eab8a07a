"""A model that answers prompts for us: the judge of the scorecard, the teacher that writes examples from documents.

    teacher = teacher_from("http://localhost:11434")   # an OpenAI-compatible server (Ollama, LM Studio,
                                                        # `python -m llama_cpp.server`)
    teacher = teacher_from("model.gguf")               # a GGUF file through llama.cpp
    teacher = teacher_from("HuggingFaceTB/SmolLM2-135M-Instruct")   # a local Hugging Face model (transformers)
    replies = teacher.ask_many(["prompt", ...], max_tokens=128)

Prompts go only to the model the user chose: a server is the user's own address. A transformers teacher answers
several prompts per forward pass (`batch_size`); the others one at a time, as their servers schedule them.
"""
from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Callable

from peftstudio.engine.errors import PlainError
from peftstudio.engine.evaluation.batched import generate_answers
from peftstudio.engine.models import load_causal_lm, load_tokenizer, resolve_model, trainable_folder

Ask = Callable[[list[str], int], list[str]]


@dataclass
class Teacher:
    description: str
    _ask: Ask
    batch_size: int = 1  # prompts it answers together

    def ask_many(self, prompts: list[str], max_tokens: int = 128, cancel: threading.Event | None = None) -> list[str]:
        replies: list[str] = []
        for start in range(0, len(prompts), self.batch_size):
            if cancel is not None and cancel.is_set():
                break
            replies.extend(self._ask(prompts[start:start + self.batch_size], max_tokens))
        return replies

    def ask(self, prompt: str, max_tokens: int = 128) -> str:
        return self._ask([prompt], max_tokens)[0]


def server_unreachable(endpoint: str, exc: BaseException) -> PlainError:
    return PlainError(title="The model server did not answer", what=f"{endpoint}: {exc}",
                      why="The server is not running, or it is not OpenAI-compatible.",
                      actions=["Start Ollama, LM Studio's server or `python -m llama_cpp.server`.",
                               "Check the address and port (Ollama: http://localhost:11434).",
                               "Or choose a model on this computer instead of a server."], help_topic="runs")


def chat_endpoint(url: str) -> str:
    endpoint = url.rstrip("/")
    if endpoint.endswith("/chat/completions"):
        return endpoint
    return (endpoint if endpoint.endswith("/v1") else endpoint + "/v1") + "/chat/completions"


def openai_teacher(url: str, model: str = "default", timeout: float = 300.0) -> Teacher:
    """An OpenAI-compatible chat endpoint, greedy (temperature 0)."""
    endpoint = chat_endpoint(url)

    def ask(prompts: list[str], max_tokens: int) -> list[str]:
        replies = []
        for prompt in prompts:
            body = json.dumps({"model": model, "messages": [{"role": "user", "content": prompt}], "temperature": 0,
                               "max_tokens": max_tokens}).encode()
            request = urllib.request.Request(endpoint, data=body, headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - the user's URL
                    replies.append(json.loads(response.read())["choices"][0]["message"]["content"] or "")
            except (urllib.error.URLError, OSError, KeyError, ValueError) as exc:
                raise server_unreachable(endpoint, exc) from None
        return replies
    return Teacher(f"OpenAI-compatible server at {url}", ask)


def gguf_teacher(path: str) -> Teacher:
    from peftstudio.engine.export.llama_cpp_runner import GGUFModel  # lazy: defers numpy

    model = GGUFModel.open(path)

    def ask(prompts: list[str], max_tokens: int) -> list[str]:
        return ["".join(model.chat([{"role": "user", "content": p}], max_tokens=max_tokens, temperature=0.0))
                for p in prompts]
    return Teacher(f"{path} in llama.cpp", ask)


def transformers_teacher(model_ref: str, batch_size: int = 8) -> Teacher:
    folder = trainable_folder(resolve_model(model_ref))
    model, tokenizer = load_causal_lm(folder).eval(), load_tokenizer(folder)

    def ask(prompts: list[str], max_tokens: int) -> list[str]:
        return generate_answers(model, tokenizer, [[{"role": "user", "content": p}] for p in prompts],
                                max_new_tokens=max_tokens, batch_size=len(prompts))
    return Teacher(f"{model_ref} in transformers", ask, batch_size)


def teacher_from(spec: str, batch_size: int = 8) -> Teacher:
    """A URL, a .gguf path, or a Hugging Face folder or id."""
    spec = spec.strip()
    if spec.startswith(("http://", "https://")):
        return openai_teacher(spec)
    if spec.lower().endswith(".gguf"):
        return gguf_teacher(spec)
    return transformers_teacher(spec, batch_size)
