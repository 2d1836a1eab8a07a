"""From a dataset file to tokenized train/validation examples, cached on disk.

The cache key is the file's content hash + the tokenizer (its vocabulary and chat template) +
every setting that changes the result, so a second run with the same inputs skips the work.
"""
from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass

from peftstudio.engine import atomic, paths
from peftstudio.engine.config import TrainingConfig
from peftstudio.engine.data.formats import read_rows
from peftstudio.engine.data.schema import detect_schema, normalize_row
from peftstudio.engine.data.tokenize import tokenize_examples
from peftstudio.engine.data.tool_calls import has_tools
from peftstudio.engine.errors import PlainError

PREPARE_VERSION = 1


@dataclass
class PreparedData:
    train: list[dict]
    validation: list[dict]
    schema: str
    from_cache: bool = False
    tool_examples: int = 0  # examples that declare or call tools: the export then writes a template with tools

    @property
    def loss_tokens(self) -> int:
        return sum(sum(1 for t in ex["labels"][1:] if t != -100) for ex in self.train)


def split_indices(count: int, validation_split: float, seed: int) -> tuple[list[int], list[int]]:
    """A seeded shuffle; the validation share is at least 1 example when asked for and possible."""
    order = list(range(count))
    random.Random(seed).shuffle(order)
    n_val = int(round(count * validation_split)) if validation_split > 0 else 0
    if validation_split > 0 and count >= 4:
        n_val = max(1, n_val)
    n_val = min(n_val, count - 1)
    return sorted(order[n_val:]), sorted(order[:n_val])


def normalized_examples(config: TrainingConfig) -> tuple[list[dict], str]:
    rows = read_rows(config.dataset_path)
    schema = detect_schema(rows, config.column_mapping or None)
    examples = [e for e in (normalize_row(r, schema, config.system_prompt) for r in rows) if e is not None]
    if not examples:
        raise PlainError(
            title="The dataset has no usable examples",
            what=f"None of the {len(rows)} rows has both a prompt and a non-empty response.",
            why="Rows are empty, or the columns holding the prompt and the response were not recognised.",
            actions=["Run 'peftstudio validate FILE' to see what is wrong with the rows.",
                     "Map the prompt and response columns by hand (column mapping)."],
            help_topic="datasets",
        )
    return examples, schema.name


def _cache_key(config: TrainingConfig, tokenizer) -> str:
    digest = hashlib.sha256()
    with open(config.dataset_path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    settings = {"v": PREPARE_VERSION, "max_len": config.max_seq_length, "split": config.validation_split,
                "seed": config.seed, "map": config.column_mapping, "system": config.system_prompt,
                "thinking": config.thinking,
                "template": getattr(tokenizer, "chat_template", None), "vocab": len(tokenizer),
                "name": getattr(tokenizer, "name_or_path", "")}
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:24]


def prepare(config: TrainingConfig, tokenizer, use_cache: bool = True) -> PreparedData:
    key = _cache_key(config, tokenizer)
    try:
        cache_file = paths.cache_dir() / "prepared" / f"{key}.json"
    except OSError:  # no writable cache folder: prepare without one
        cache_file, use_cache = None, False
    if use_cache and cache_file.exists():
        try:
            data = json.loads(cache_file.read_text(encoding="utf-8"))
            return PreparedData(data["train"], data["validation"], data["schema"], from_cache=True,
                                tool_examples=data.get("tool_examples", 0))
        except (OSError, ValueError, KeyError, TypeError):
            pass  # a damaged cache entry is simply rebuilt
    examples, schema = normalized_examples(config)
    train_idx, val_idx = split_indices(len(examples), config.validation_split, config.seed)
    train = tokenize_examples(tokenizer, [examples[i] for i in train_idx], config.max_seq_length,
                              thinking=config.thinking)
    validation = tokenize_examples(tokenizer, [examples[i] for i in val_idx], config.max_seq_length,
                                   thinking=config.thinking)
    if not train:
        raise PlainError(
            title="No example fits the maximum sequence length",
            what="After the prompt, no response tokens were left within the maximum sequence length.",
            why="The prompts are longer than the maximum sequence length allows.",
            actions=["Raise the maximum sequence length.", "Shorten the prompts in the dataset."],
            help_topic="datasets",
        )
    tools = sum(has_tools(example) for example in examples)
    prepared = PreparedData(train, validation, schema, tool_examples=tools)
    if use_cache:
        atomic.write_cache(cache_file, json.dumps({"train": train, "validation": validation, "schema": schema,
                                                   "tool_examples": tools}))
    return prepared
