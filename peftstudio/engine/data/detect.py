"""Format and encoding detection by content (the extension is only a tie-breaker).

`detect_format` never raises for a bad file: binary files, archives, images, empty files and
random bytes give a `FormatInfo` with `is_dataset=False` and a plain reason.
"""
from __future__ import annotations

import codecs
import csv
import json
from dataclasses import dataclass
from pathlib import Path

MAX_FILE_BYTES = 1 << 30  # 1 GiB
SNIFF_BYTES = 1 << 16

FORMATS = ("jsonl", "json", "csv", "tsv", "txt", "parquet")

# magic numbers of common non-dataset files, to name them in the message
MAGIC = {b"PK\x03\x04": "a zip archive (or an Office document)", b"\x89PNG": "a PNG image", b"\xff\xd8\xff": "a JPEG image",
         b"GIF8": "a GIF image", b"%PDF": "a PDF document", b"\x7fELF": "a program", b"\x1f\x8b": "a gzip archive",
         b"Rar!": "a RAR archive", b"7z\xbc\xaf": "a 7-Zip archive", b"MZ": "a Windows program",
         b"SQLite format 3": "an SQLite database"}


@dataclass
class FormatInfo:
    format: str | None  # one of FORMATS, or None when this is not a dataset
    encoding: str = "utf-8"
    is_dataset: bool = True
    reason: str = ""  # why it is not a dataset
    encoding_warning: str = ""  # set for legacy single-byte encodings
    size: int = 0

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def not_a_dataset(reason: str, size: int = 0) -> FormatInfo:
    return FormatInfo(format=None, is_dataset=False, reason=reason, size=size)


def detect_encoding(head: bytes) -> tuple[str, str]:
    """(python codec name, warning) from the first bytes."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", ""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", ""
    try:
        head.decode("utf-8")
        return "utf-8", ""
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 4:  # a multi-byte character cut by the sniff window
            return "utf-8", ""
    return "cp1252", ("The file is not UTF-8; it was read as Windows-1252 (Western European). "
                      "Accented letters may be wrong: save it as UTF-8 to be sure.")


def _looks_binary(text_head: bytes) -> bool:
    if b"\x00" in text_head:
        return True
    controls = sum(1 for b in text_head if b < 32 and b not in (9, 10, 13, 12))
    return controls > max(8, len(text_head) // 50)


def detect_format(path: str | Path) -> FormatInfo:
    path = Path(path)
    problem = check_path(path)
    if problem is not None:
        return problem
    with open(path, "rb") as handle:
        return sniff(handle, path)


def check_path(path: Path) -> FormatInfo | None:
    """Why a path cannot be a dataset without opening it (None when it may be one)."""
    if not path.exists():
        if path.is_symlink():  # exists() follows links: a link to nowhere, or links pointing at each other
            return not_a_dataset("This is a link that leads nowhere: its target is missing, or it is a loop of "
                                 "links pointing at each other.")
        return not_a_dataset("No file exists at this path.")
    if path.is_dir():
        return not_a_dataset("This is a folder, not a file.")
    if not path.is_file():  # a FIFO, a socket or a device: reading it could block forever or never end
        return not_a_dataset("This is not a regular file (a pipe, a socket or a device).")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        return not_a_dataset(f"The file is {size / 2**30:.1f} GB; the limit is 1 GB. "
                             "Split it or take a sample first.", size)
    if size == 0:
        return not_a_dataset("The file is empty.", size)
    return None


def sniff(handle, path: Path) -> FormatInfo:
    """Format and encoding from the first bytes of an open binary file (its position is left anywhere)."""
    size = path.stat().st_size
    handle.seek(0)
    head = handle.read(SNIFF_BYTES)
    if len(head) == SNIFF_BYTES and head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{") and b"\n" not in head:
        # the first line is longer than the window: JSONL is decided on whole lines
        head += handle.readline() + handle.readline(SNIFF_BYTES)
    if head.startswith(b"PAR1"):
        return FormatInfo("parquet", encoding="binary", size=size)
    for magic, what in MAGIC.items():
        if head.startswith(magic):
            return not_a_dataset(f"This is {what}, not a dataset.", size)
    encoding, warning = detect_encoding(head)
    if encoding != "utf-16" and _looks_binary(head):
        return not_a_dataset("The file holds binary data, not text.", size)
    text = head.decode(encoding, errors="replace").lstrip("\ufeff")
    if not text.strip():
        return not_a_dataset("The file has only blank space in it.", size)
    whole = len(head) >= size
    return FormatInfo(_text_format(text, path.suffix.lower(), whole), encoding, encoding_warning=warning, size=size)


def _text_format(text: str, suffix: str, whole: bool = False) -> str:
    stripped = text.lstrip()
    lines = [line for line in stripped.splitlines() if line.strip()]
    if stripped.startswith("[") or suffix == ".json" or (
            whole and suffix not in (".txt", ".md", ".text") and _is_json_scalar(stripped)):
        return "json"  # a bare number or string is JSON too, and the reader says it is not a dataset
    if stripped.startswith("{"):
        # JSONL: the first line is a whole object and another object line follows.
        # Otherwise one JSON document: pretty-printed, or {"data": [...]} on one line.
        if _is_json_object(lines[0]) and len(lines) > 1 and lines[1].lstrip().startswith("{"):
            return "jsonl"
        return "json"
    if suffix == ".jsonl":
        return "jsonl"
    sample = "\n".join(lines[:20])
    tabs = [line.count("\t") for line in lines[:20]]
    if suffix == ".tsv" or (len(lines) > 1 and tabs[0] > 0 and all(t == tabs[0] for t in tabs[:len(tabs) - 1 or 1])):
        return "tsv"
    if suffix == ".csv":
        return "csv"
    if suffix in (".txt", ".md", ".text"):
        return "txt"
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;")
        header = next(csv.reader([lines[0]], dialect))
        if len(header) >= 2 and all(0 < len(h) <= 64 for h in header) and len(lines) > 1:
            return "csv"
    except (csv.Error, StopIteration):
        pass
    return "txt"


def _is_json_scalar(text: str) -> bool:
    try:
        return not isinstance(json.loads(text), (dict, list))
    except (ValueError, RecursionError):
        return False


def _is_json_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except (ValueError, RecursionError):
        return False
