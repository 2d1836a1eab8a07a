"""Checkpoint folders: which are complete, and which to resume from.

The Trainer writes `checkpoint-N/` in place; a process killed mid-save leaves a partial folder.
Our callback writes `COMPLETE_MARKER` after the Trainer has written everything, so only folders
with the marker count. The marker also records every file's size: a checkpoint damaged later (a disk
error, a copy cut short) no longer matches and the run resumes from the newest one that does.
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from peftstudio.engine import atomic

COMPLETE_MARKER = "peftstudio-checkpoint.json"
OPTIMIZER_STATE = "optimizer.pt"  # the Trainer's name for it
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


def checkpoint_path(folder: Path, step: int) -> Path:
    """Where the Trainer saves the checkpoint of `step` (its own naming)."""
    return Path(folder) / f"checkpoint-{step}"


def checkpoint_step(path: Path) -> int | None:
    match = _CHECKPOINT.match(path.name)
    return int(match.group(1)) if match else None


def complete_checkpoints(folder: Path) -> list[Path]:
    """Checkpoints that were written whole and still are, oldest first."""
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if p.is_dir() and checkpoint_step(p) is not None and is_intact(p)]
    return sorted(found, key=checkpoint_step)


def latest_checkpoint(folder: Path) -> Path | None:
    complete = complete_checkpoints(folder)
    return complete[-1] if complete else None


def optimizer_state(checkpoint: Path) -> Path:
    """Where the Trainer keeps a checkpoint's optimizer state (it may not exist)."""
    return checkpoint / OPTIMIZER_STATE


def read_marker(checkpoint: Path) -> dict | None:
    try:
        info = json.loads((checkpoint / COMPLETE_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def is_intact(checkpoint: Path) -> bool:
    """The marker is there and readable, and every file it lists has its recorded size."""
    info = read_marker(checkpoint)
    if info is None:
        return False
    for name, size in (info.get("files") or {}).items():  # markers from before sizes were recorded: trusted
        path = checkpoint / name
        try:
            if path.is_symlink() or path.stat().st_size != size:
                return False
        except OSError:
            return False
    return True


def mark_complete(checkpoint: Path, info: dict) -> None:
    files = {str(p.relative_to(checkpoint)): p.stat().st_size for p in sorted(checkpoint.rglob("*"))
             if p.is_file() and not p.name.startswith(COMPLETE_MARKER)}
    atomic.write_json(checkpoint / COMPLETE_MARKER, {**info, "files": files})


def remove_incomplete(folder: Path) -> list[Path]:
    """Delete checkpoint folders that a crash or a full disk left half-written, or that were damaged since.

    Only `checkpoint-N` folders inside the run's own checkpoints folder are ever touched."""
    removed = []
    if folder.is_dir() and not folder.is_symlink():
        for p in folder.iterdir():
            if p.is_dir() and not p.is_symlink() and checkpoint_step(p) is not None and not is_intact(p):
                shutil.rmtree(p)
                removed.append(p)
    return removed
