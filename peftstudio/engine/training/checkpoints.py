"""Checkpoint folders: which are complete, and which to resume from.

The Trainer writes `checkpoint-N/` in place; a process killed mid-save leaves a partial folder.
Our callback writes `COMPLETE_MARKER` after the Trainer has written everything, so only folders
with the marker count.
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

COMPLETE_MARKER = "peftstudio-checkpoint.json"
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


def checkpoint_step(path: Path) -> int | None:
    match = _CHECKPOINT.match(path.name)
    return int(match.group(1)) if match else None


def complete_checkpoints(folder: Path) -> list[Path]:
    if not folder.exists():
        return []
    found = [p for p in folder.iterdir()
             if p.is_dir() and checkpoint_step(p) is not None and (p / COMPLETE_MARKER).exists()]
    return sorted(found, key=checkpoint_step)


def latest_checkpoint(folder: Path) -> Path | None:
    complete = complete_checkpoints(folder)
    return complete[-1] if complete else None


def mark_complete(checkpoint: Path, info: dict) -> None:
    tmp = checkpoint / (COMPLETE_MARKER + ".tmp")
    tmp.write_text(json.dumps(info, indent=2), encoding="utf-8")
    tmp.replace(checkpoint / COMPLETE_MARKER)


def remove_incomplete(folder: Path) -> list[Path]:
    """Delete checkpoint folders that a crash or a full disk left half-written."""
    removed = []
    if folder.exists():
        for p in folder.iterdir():
            if p.is_dir() and checkpoint_step(p) is not None and not (p / COMPLETE_MARKER).exists():
                shutil.rmtree(p, ignore_errors=True)
                removed.append(p)
    return removed
