"""Greedy answers for many prompts at once: left padding, several prompts per forward pass, the adapter
switched off for the base model's answers (one copy of the weights in memory)."""
from __future__ import annotations

import contextlib
import threading
from typing import Callable

from peftstudio.engine.data.tool_render import template_inputs

Progress = Callable[[int, int], None]


def prompt_texts(tokenizer, conversations: list[list[dict]], tools: list[list[dict] | None] | None = None) -> list[str]:
    """Each conversation as the model reads it before answering; with `tools` (a list per conversation), the
    tools rendered the way training rendered them (data/tool_render.py)."""
    texts = []
    for index, messages in enumerate(conversations):
        example = {"messages": messages, **({"tools": tools[index]} if tools and tools[index] else {})}
        messages, extra = template_inputs(tokenizer, example)
        texts.append(tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True, **extra))
    return texts


def generate_answers(model, tokenizer, conversations: list[list[dict]], *, max_new_tokens: int = 64,
                     batch_size: int = 8, use_adapter: bool = True, progress: Progress | None = None,
                     cancel: threading.Event | None = None, tools: list[list[dict] | None] | None = None) -> list[str]:
    """Greedy replies in the input order. Prompts are sorted by length so a batch pads little."""
    import torch

    texts = prompt_texts(tokenizer, conversations, tools)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    answers: list[str] = [""] * len(texts)
    saved_side = tokenizer.padding_side
    tokenizer.padding_side = "left"  # generation continues from the right end of every row
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    adapter_off = getattr(model, "disable_adapter", None)
    context = contextlib.nullcontext() if use_adapter or adapter_off is None else adapter_off()
    done = 0
    try:
        with torch.no_grad(), context:
            for start in range(0, len(order), batch_size):
                if cancel is not None and cancel.is_set():
                    break
                chunk = order[start:start + batch_size]
                batch = tokenizer([texts[i] for i in chunk], return_tensors="pt", padding=True,
                                  add_special_tokens=False).to(model.device)
                out = model.generate(**batch, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=pad)
                new = out[:, batch["input_ids"].shape[1]:]
                for row, index in enumerate(chunk):
                    answers[index] = tokenizer.decode(new[row], skip_special_tokens=True).strip()
                done += len(chunk)
                if progress is not None:
                    progress(done, len(texts))
    finally:
        tokenizer.padding_side = saved_side
    return answers
