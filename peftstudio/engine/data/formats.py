"""Reading dataset files into rows (dicts), by content rather than by extension alone."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from peftstudio.engine.errors import PlainError

MAX_FILE_BYTES = 1 << 30  # 1 GiB


def unreadable(path: Path, what: str, why: str) -> PlainError:
    return PlainError(
        title="The dataset file could not be read",
        what=f"{path.name}: {what}",
        why=why,
        actions=["Check that this is the file you meant (JSON, JSONL, CSV, TSV or plain text).",
                 "Run 'peftstudio validate FILE' to see every problem, or '--fix OUT' to repair a copy.",
                 "Start from a sample dataset shipped with PEFT Studio and compare."],
        help_topic="datasets",
    )


def read_text(path: Path) -> str:
    if not path.exists():
        raise unreadable(path, "no file exists at this path.", "The file was moved, renamed or never created.")
    if path.is_dir():
        raise unreadable(path, "this is a folder, not a file.", "A dataset is one file.")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise unreadable(path, f"the file is {size / 2**30:.1f} GB; the limit is 1 GB.",
                         "Very large files are better split or sampled before fine-tuning.")
    raw = path.read_bytes()
    if not raw.strip():
        raise unreadable(path, "the file is empty.", "It has no examples in it.")
    if raw.startswith(b"\xff\xfe") or raw.startswith(b"\xfe\xff"):
        return raw.decode("utf-16")
    if b"\x00" in raw[:4096]:
        raise unreadable(path, "it holds binary data, not text.", "This looks like an image, archive or program.")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def read_rows(path: str | Path) -> list[dict]:
    """All rows of a JSON, JSONL, CSV/TSV or plain-text dataset, as dicts."""
    path = Path(path)
    text = read_text(path)
    stripped = text.lstrip()
    if stripped.startswith(("[", "{")):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError:
            data = None
        if isinstance(data, list):
            return _only_objects(path, data)
        if isinstance(data, dict):
            lists = [v for v in data.values() if isinstance(v, list) and v and isinstance(v[0], dict)]
            return _only_objects(path, lists[0]) if len(lists) == 1 else [data]
        return _read_jsonl(path, text)
    first_line = stripped.splitlines()[0]
    if path.suffix.lower() in (".csv", ".tsv") or ("," in first_line or "\t" in first_line) and \
            path.suffix.lower() not in (".txt", ".md"):
        dialect = "excel-tab" if (path.suffix.lower() == ".tsv" or "\t" in first_line) else "excel"
        reader = csv.DictReader(io.StringIO(text), dialect=dialect)
        rows = [dict(r) for r in reader]
        if rows and reader.fieldnames:
            return rows
    blocks = [b.strip() for b in text.split("\n\n") if b.strip()]
    return [{"text": b} for b in blocks]


def _read_jsonl(path: Path, text: str) -> list[dict]:
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise unreadable(path, f"line {number} is not valid JSON ({exc.msg}).",
                             "Each line of a JSONL file must be one complete JSON object.") from None
        if isinstance(row, dict):
            rows.append(row)
    if not rows:
        raise unreadable(path, "no JSON objects were found.", "Each example must be a JSON object.")
    return rows


def _only_objects(path: Path, data: list) -> list[dict]:
    rows = [r for r in data if isinstance(r, dict)]
    if not rows:
        raise unreadable(path, "the JSON list holds no objects.", "Each example must be a JSON object.")
    return rows
