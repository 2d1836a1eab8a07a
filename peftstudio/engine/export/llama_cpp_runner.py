"""Run a GGUF file in llama.cpp (through `llama-cpp-python`): what Ollama and LM Studio will answer.

One small wrapper used three ways: verification (token ids and full next-token distributions),
`peftstudio chat FILE.gguf` and the playground (streamed chat with the same sampling controls).
"""
from __future__ import annotations

import importlib.util
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from peftstudio.engine.errors import PlainError
from peftstudio.engine.sampling import Sampling


def available() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None


llama_cpp_available = available  # the package's public name


def not_installed() -> PlainError:
    return PlainError(
        title="llama.cpp is not installed",
        what="Chatting with a GGUF file needs llama.cpp (the engine inside Ollama and LM Studio).",
        why="The optional package llama-cpp-python is missing from PEFT Studio's environment.",
        actions=["Run `make install` again (it builds llama-cpp-python once, about 8 minutes).",
                 "Or install it yourself: pip install 'peftstudio[gguf-run]'.",
                 "Or try the file in Ollama or LM Studio directly."],
        help_topic="export",
    )


@contextmanager
def quiet_stderr():
    """llama.cpp logs to the C stderr while loading; keep a terminal clean unless it fails."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    with open(os.devnull, "w") as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


@dataclass
class GGUFModel:
    """An open GGUF file in llama.cpp."""
    llm: object
    path: Path

    @classmethod
    def open(cls, path: Path, context: int = 2048, all_logits: bool = False) -> "GGUFModel":
        if not available():
            raise not_installed()
        import llama_cpp

        from peftstudio.engine.models import check_gguf_magic  # lazy: models pulls in more than this needs

        check_gguf_magic(Path(path))  # llama.cpp only says "failed to load" for a damaged or renamed file

        threads = max(1, min(8, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 2))
        with quiet_stderr():
            llm = llama_cpp.Llama(model_path=str(path), n_ctx=context, n_threads=threads, n_threads_batch=threads,
                                  logits_all=all_logits, verbose=False, seed=0)
        return cls(llm, Path(path))

    def tokenize(self, text: str) -> list[int]:
        """Token ids of an already templated prompt (special tokens parsed, no BOS added)."""
        return self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)

    def log_probs(self, ids: list[int]) -> np.ndarray:
        """Next-token log-probabilities after each position of `ids` (shape (len(ids), vocab))."""
        self.llm.reset()
        self.llm.eval(ids)
        logits = np.asarray(self.llm.scores[: len(ids)], dtype=np.float64)
        return logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)

    def greedy(self, ids: list[int], count: int) -> list[int]:
        """Up to `count` greedy tokens; like transformers' generate, an end-of-sequence token is kept, then stops."""
        self.llm.reset()
        out: list[int] = []
        for token in self.llm.generate(ids, temp=0.0, top_k=1, reset=True):
            out.append(int(token))
            if token == self.llm.token_eos() or len(out) >= count:
                break
        return out

    def chat(self, messages: list[dict], stop: Callable[[], bool] | None = None, **sampling) -> Iterator[str]:
        """Stream an answer with the file's own chat template (what Ollama and LM Studio apply); `sampling` is
        create_chat_completion's keywords, by default our Sampling's (engine/sampling.py)."""
        options = {**Sampling().llama_cpp(), **sampling}
        stream = self.llm.create_chat_completion(messages=messages, **options, stream=True, seed=0)
        for chunk in stream:
            if stop is not None and stop():
                break
            piece = chunk["choices"][0]["delta"].get("content")
            if piece:
                yield piece

    def close(self) -> None:
        close = getattr(self.llm, "close", None)
        if close is not None:
            close()


def timed_chat(model: GGUFModel, messages: list[dict], on_piece: Callable[[str], None],
               stop: Callable[[], bool] | None = None, **sampling) -> dict:
    """Stream an answer to `on_piece`; returns the text, its token count and tokens/s (prompt reading included)."""
    started = time.perf_counter()
    pieces = []
    for piece in model.chat(messages, stop=stop, **sampling):
        pieces.append(piece)
        on_piece(piece)
    text = "".join(pieces)
    seconds = max(time.perf_counter() - started, 1e-9)
    tokens = len(model.llm.tokenize(text.encode("utf-8"), add_bos=False)) if text else 0
    return {"text": text, "tokens": tokens, "seconds": seconds, "tokens_per_second": tokens / seconds}
