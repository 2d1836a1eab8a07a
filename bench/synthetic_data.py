"""Synthetic, length-skewed instruction data for benchmarks (written here, never downloaded)."""
from __future__ import annotations

import json
import math
import random
from pathlib import Path

WORDS = ("the a of to and in is it that for on with as was be by this are or from at which have an not "
         "model data train learn answer question result value system user write explain list reason step "
         "example simple python function return number string because therefore however first second next "
         "finally summary short long detail important river mountain city history science music garden").split()


def _sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(max(1, words))).capitalize() + "."


def _text(rng: random.Random, tokens: int) -> str:
    """About `tokens` tokens of text (one common English word is about 1.2 tokens here)."""
    words, parts = max(1, int(tokens / 1.2)), []
    while words > 0:
        n = min(words, rng.randint(6, 18))
        parts.append(_sentence(rng, n))
        words -= n
    return " ".join(parts)


def length_skewed_alpaca(count: int, seed: int = 0) -> list[dict]:
    """Total lengths 20-600 tokens, log-normal (median ~110): most short, a long tail, like real instruction data."""
    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        total = int(min(600, max(20, math.exp(rng.gauss(math.log(110), 0.75)))))
        prompt_share = rng.uniform(0.25, 0.6)
        prompt_tokens = max(4, int(total * prompt_share))
        rows.append({"instruction": _text(rng, prompt_tokens), "input": "",
                     "output": _text(rng, max(4, total - prompt_tokens))})
    return rows


def write_jsonl(rows: list[dict], path: Path) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path
