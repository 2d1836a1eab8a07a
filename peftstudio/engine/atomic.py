"""Writing a file all at once: readers see the old content or the new, never half of it.

The one helper for every small file PEFT Studio writes (run.json, settings, presets, markers, caches):
the text goes to a temporary file beside the target (same folder, so the rename cannot cross disks),
which then replaces the target in one `os.replace`. A file that may hold a secret is created readable by
its owner only from the first byte (never created open and restricted afterwards).
"""
from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any


def write_text(path: str | os.PathLike, text: str, private: bool = False) -> Path:
    path = Path(path)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def write_json(path: str | os.PathLike, data: Any, private: bool = False, **dumps) -> Path:
    dumps.setdefault("indent", 2)
    dumps.setdefault("default", str)
    return write_text(path, json.dumps(data, **dumps), private)


def write_cache(path: str | os.PathLike, text: str) -> bool:
    """A re-creatable cache file: a full or read-only disk only means no cache (False), never an error."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text(path, text)
        return True
    except OSError:
        return False


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists, owned by someone else
    return True


def remove_abandoned(parent: Path, pattern: re.Pattern) -> list[Path]:
    """Remove the hidden work folders in `parent` whose name matches `pattern` (with a `pid` group) and whose
    process is gone: what a killed process was building. Live processes' folders and links are left alone."""
    removed = []
    if not parent.is_dir():
        return removed
    for sibling in parent.iterdir():
        match = pattern.match(sibling.name)
        if match and sibling.is_dir() and not sibling.is_symlink() and not process_alive(int(match.group("pid"))):
            shutil.rmtree(sibling)
            removed.append(sibling)
    return removed


def drop_partial_line(path: Path) -> None:
    """Cut a last line that a killed process left half-written, so the next event starts a line of its own
    (appended to the fragment, it would make both unreadable)."""
    try:
        with open(path, "rb+") as handle:
            size = handle.seek(0, 2)
            if size == 0:
                return
            handle.seek(size - 1)
            if handle.read(1) == b"\n":
                return
            start = max(0, size - 2**20)
            handle.seek(start)
            tail = handle.read()
            cut = tail.rfind(b"\n")
            handle.truncate(start + cut + 1 if cut >= 0 else (0 if start == 0 else size))
    except FileNotFoundError:
        return
