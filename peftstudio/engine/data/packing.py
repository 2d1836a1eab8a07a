"""Batches without wasted padding.

`FlatCollator` lays the examples of a batch end to end in one row: no padding at all. Each keeps
its own `position_ids` from 0, and `cu_seq_lens_q`/`cu_seq_lens_k` (where each example starts,
transformers' variable-length contract) let attention run inside each example only (see
`training/segments.py`). Used for every model whose attention can run per segment.

`PackedCollator` packs the examples of a batch into as few rows of at most `row_length` tokens
as it can (first-fit decreasing). Each example keeps its own `position_ids` starting at 0 and no
attention mask is passed, so transformers builds a block-diagonal causal mask from the position
ids (sdpa/eager, with `use_cache=False`): examples never see each other. Rows stay short, so the
attention cost stays per-row rather than quadratic in the whole batch.

Both collators emit `shift_labels` (the target for each position, already shifted inside each
example, -100 at example ends and on padding) so that the loss never crosses example boundaries.
"""
from __future__ import annotations

import torch

from peftstudio.engine.data.tokenize import IGNORE_INDEX


def shifted(labels: list[int]) -> list[int]:
    return labels[1:] + [IGNORE_INDEX]


def pack_rows(lengths: list[int], row_length: int) -> list[list[int]]:
    """Indices of examples grouped into rows of at most `row_length` tokens (first-fit decreasing)."""
    rows: list[list[int]] = []
    room: list[int] = []
    for index in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
        size = lengths[index]
        for r, free in enumerate(room):
            if size <= free:
                rows[r].append(index)
                room[r] -= size
                break
        else:
            rows.append([index])
            room.append(row_length - size)
    return rows


class PackedCollator:
    def __init__(self, pad_token_id: int, row_length: int):
        self.pad_token_id = pad_token_id
        self.row_length = row_length

    def __call__(self, features: list[dict]) -> dict:
        lengths = [len(f["input_ids"]) for f in features]
        rows = pack_rows(lengths, max(self.row_length, max(lengths)))
        width = max(sum(lengths[i] for i in row) for row in rows)
        ids, pos, targets = [], [], []
        for row in rows:
            row_ids, row_pos, row_targets = [], [], []
            for i in row:
                row_ids += features[i]["input_ids"]
                row_pos += list(range(lengths[i]))
                row_targets += shifted(features[i]["labels"])
            pad = width - len(row_ids)
            ids.append(row_ids + [self.pad_token_id] * pad)
            pos.append(row_pos + list(range(pad)))  # padding is a sequence of its own
            targets.append(row_targets + [IGNORE_INDEX] * pad)
        shift_labels = torch.tensor(targets)
        return {"input_ids": torch.tensor(ids), "position_ids": torch.tensor(pos),
                "shift_labels": shift_labels, "labels": shift_labels, "num_examples": torch.tensor(len(features)),
                "num_tokens": torch.tensor(sum(lengths))}


class FlatCollator:
    """The whole batch as one padding-free row with the examples' boundaries (see the module docstring)."""

    def __call__(self, features: list[dict]) -> dict:
        ids, pos, targets, bounds = [], [], [], [0]
        for f in features:
            length = len(f["input_ids"])
            ids += f["input_ids"]
            pos += range(length)
            targets += shifted(f["labels"])
            bounds.append(bounds[-1] + length)
        shift_labels = torch.tensor([targets])
        cumulative = torch.tensor(bounds, dtype=torch.int32)
        longest = max(b - a for a, b in zip(bounds[:-1], bounds[1:]))
        return {"input_ids": torch.tensor([ids]), "position_ids": torch.tensor([pos]),
                "cu_seq_lens_q": cumulative, "cu_seq_lens_k": cumulative, "max_length_q": longest,
                "max_length_k": longest, "shift_labels": shift_labels, "labels": shift_labels,
                "num_examples": torch.tensor(len(features)), "num_tokens": torch.tensor(bounds[-1])}


class PaddedCollator:
    """One example per row, right-padded to the longest in the batch (used when packing is off)."""

    def __init__(self, pad_token_id: int):
        self.pad_token_id = pad_token_id

    def __call__(self, features: list[dict]) -> dict:
        lengths = [len(f["input_ids"]) for f in features]
        width = max(lengths)
        ids, mask, targets = [], [], []
        for f in features:
            pad = width - len(f["input_ids"])
            ids.append(f["input_ids"] + [self.pad_token_id] * pad)
            mask.append([1] * len(f["input_ids"]) + [0] * pad)
            targets.append(shifted(f["labels"]) + [IGNORE_INDEX] * pad)
        shift_labels = torch.tensor(targets)
        return {"input_ids": torch.tensor(ids), "attention_mask": torch.tensor(mask),
                "shift_labels": shift_labels, "labels": shift_labels, "num_examples": torch.tensor(len(features)),
                "num_tokens": torch.tensor(sum(lengths))}
