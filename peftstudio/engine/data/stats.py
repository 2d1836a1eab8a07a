"""Dataset statistics in the chosen model's tokens (`DatasetStats`), fast and streaming.

Token counts use the model's fast tokenizer in batches on the message contents, plus the chat
template's own tokens per conversation shape (measured once per shape): exact up to a token or
two at turn boundaries, and about 10x faster than rendering the template for every row.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

PLACEHOLDER = "x"


class TokenCounter:
    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        self.backend = getattr(tokenizer, "backend_tokenizer", None) or getattr(tokenizer, "_tokenizer", None)
        self._overhead: dict[tuple[str, ...], int] = {}
        self._placeholder = self._encode([PLACEHOLDER])[0]

    def _encode(self, texts: list[str]) -> list[int]:
        if not texts:
            return []
        if self.backend is not None:
            # the Rust backend keeps the truncation of the last call that asked for one (training's max length):
            # counting must see whole examples, so switch it off for this call and put it back after
            truncation = self.backend.truncation
            if truncation is not None:
                self.backend.no_truncation()
            try:
                return [len(e.ids) for e in self.backend.encode_batch(texts, add_special_tokens=False)]
            finally:
                if truncation is not None:
                    self.backend.enable_truncation(**truncation)
        return [len(ids) for ids in self.tokenizer(texts, add_special_tokens=False)["input_ids"]]

    def overhead(self, roles: tuple[str, ...]) -> int:
        """Template tokens of a conversation of this shape, its contents excluded."""
        if roles not in self._overhead:
            messages = [{"role": r, "content": PLACEHOLDER} for r in roles]
            rendered = self.tokenizer.apply_chat_template(messages, tokenize=False)
            self._overhead[roles] = self._encode([rendered])[0] - self._placeholder * len(roles)
        return self._overhead[roles]

    def count(self, examples: list[dict]) -> list[int]:
        return [total for total, _ in self.count_with_loss(examples)]

    def count_with_loss(self, examples: list[dict]) -> list[tuple[int, int]]:
        """(tokens, loss-carrying tokens) per example."""
        contents, shapes = [], []
        for example in examples:
            if "text" in example:
                contents.append(example["text"])
                shapes.append(None)
            else:
                contents += [m["content"] for m in example["messages"]]
                shapes.append(tuple(m["role"] for m in example["messages"]))
        lengths = iter(self._encode(contents))
        out = []
        for shape in shapes:
            if shape is None:
                n = next(lengths) + 1  # + end-of-text
                out.append((n, n))
                continue
            per_message = [next(lengths) for _ in shape]
            replies = sum(n + 2 for n, role in zip(per_message, shape) if role == "assistant")  # + end of turn
            out.append((sum(per_message) + self.overhead(shape), replies))
        return out


@dataclass
class DatasetStats:
    rows: int = 0
    examples: int = 0
    tokens_total: int = 0
    tokens_mean: float = 0.0
    tokens_p50: int = 0
    tokens_p95: int = 0
    tokens_max: int = 0
    histogram_edges: list[int] = field(default_factory=list)
    histogram_counts: list[int] = field(default_factory=list)
    duplicates: int = 0
    loss_tokens_per_epoch: int = 0
    recommended_max_seq_length: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


def percentile(ordered: list[int], q: float) -> int:
    if not ordered:
        return 0
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def recommended_length(p95: int, model_max: int | None = None) -> int:
    """The p95 length rounded up to a multiple of 64 (at least 128), within what the model supports."""
    length = max(128, 64 * math.ceil(p95 / 64))
    if model_max and 0 < model_max < 10**7:
        length = min(length, model_max)
    return length


def histogram(values: list[int], bins: int = 20) -> tuple[list[int], list[int]]:
    if not values:
        return [], []
    low, high = min(values), max(values)
    width = max(1, math.ceil((high - low + 1) / bins))
    edges = [low + i * width for i in range(bins + 1)]
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, (v - low) // width)] += 1
    return edges, counts


def summarize(lengths: list[int], loss_tokens: int, rows: int, duplicates: int,
              model_max: int | None = None) -> DatasetStats:
    """The statistics of a file from each usable example's token count (gathered by `validate`'s one pass)."""
    ordered = sorted(lengths)
    stats = DatasetStats(rows=rows, examples=len(ordered), duplicates=duplicates, loss_tokens_per_epoch=loss_tokens)
    if ordered:
        stats.tokens_total = sum(ordered)
        stats.tokens_mean = stats.tokens_total / len(ordered)
        stats.tokens_p50, stats.tokens_p95 = percentile(ordered, 0.5), percentile(ordered, 0.95)
        stats.tokens_max = ordered[-1]
        stats.histogram_edges, stats.histogram_counts = histogram(ordered)
        stats.recommended_max_seq_length = recommended_length(stats.tokens_p95, model_max)
    return stats
