"""Streaming rows out of a dataset file, with the line number of each row and of each bad line.

JSONL, CSV/TSV, text and Parquet are read a row at a time (memory stays flat for big files);
a JSON document is parsed whole.
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from peftstudio.engine.data.detect import FormatInfo

csv.field_size_limit(1 << 30)


@dataclass
class Row:
    line: int  # 1-based line (JSONL, CSV, TXT) or position (JSON, Parquet)
    data: dict


@dataclass
class BadLine:
    line: int
    message: str
    fatal: bool = False  # nothing after it can be read


def iter_rows(path: str | Path, info: FormatInfo) -> Iterator[Row | BadLine]:
    path = Path(path)
    reader = {"jsonl": _jsonl, "json": _json, "csv": _csv, "tsv": _csv, "txt": _txt, "parquet": _parquet}[info.format]
    yield from reader(path, info)


def _open(path: Path, info: FormatInfo):
    return open(path, encoding=info.encoding, errors="replace" if info.encoding == "cp1252" else "surrogateescape",
                newline="")


def _jsonl(path: Path, info: FormatInfo):
    with _open(path, info) as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except ValueError as exc:
                message = getattr(exc, "msg", str(exc))
                yield BadLine(number, f"line {number} is not valid JSON ({message})")
                continue
            if isinstance(value, dict):
                yield Row(number, value)
            else:
                yield BadLine(number, f"line {number} is a JSON {type(value).__name__}, not an object with fields")


def _json(path: Path, info: FormatInfo):
    with _open(path, info) as handle:
        text = handle.read()
    try:
        value = json.loads(text.lstrip("\ufeff"))
    except ValueError as exc:
        yield BadLine(getattr(exc, "lineno", 1), f"the JSON is not valid at line {getattr(exc, 'lineno', '?')}, "
                      f"column {getattr(exc, 'colno', '?')} ({getattr(exc, 'msg', exc)})", fatal=True)
        return
    if isinstance(value, dict):
        # {"data": [...]} wraps the rows; {"messages": [...]} is itself one row
        lists = [v for k, v in value.items() if isinstance(v, list) and any(isinstance(x, dict) for x in v)
                 and k not in ("messages", "conversations")]
        value = lists[0] if len(lists) == 1 else [value]
    if not isinstance(value, list):
        yield BadLine(1, "the JSON holds a single value, not a list of examples", fatal=True)
        return
    for index, item in enumerate(value, 1):
        if isinstance(item, dict):
            yield Row(index, item)
        else:
            yield BadLine(index, f"item {index} is a JSON {type(item).__name__}, not an object with fields")


def _csv(path: Path, info: FormatInfo):
    with _open(path, info) as handle:
        reader = csv.reader(handle, dialect="excel-tab" if info.format == "tsv" else "excel", strict=True)
        try:
            header = next(reader)
        except (StopIteration, csv.Error) as exc:
            yield BadLine(1, f"the header line could not be read ({exc})", fatal=True)
            return
        header = [h.strip().lstrip("\ufeff") for h in header]
        start = reader.line_num + 1
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                problem = "a quote is opened and never closed" if "end of data" in str(exc) or "EOF" in str(exc) \
                    else str(exc)
                yield BadLine(start, f"line {start}: {problem}; the rest of the file cannot be read", fatal=True)
                return
            if values:
                if len(values) != len(header):
                    yield BadLine(start, f"line {start} has {len(values)} fields but the header has {len(header)}")
                else:
                    yield Row(start, dict(zip(header, values)))
            start = reader.line_num + 1


def _txt(path: Path, info: FormatInfo):
    """Plain text: one example per paragraph (blank-line separated)."""
    with _open(path, info) as handle:
        block, first = [], 0
        for number, line in enumerate(handle, 1):
            if line.strip():
                if not block:
                    first = number
                block.append(line.rstrip("\r\n"))
            elif block:
                yield Row(first, {"text": "\n".join(block)})
                block = []
        if block:
            yield Row(first, {"text": "\n".join(block)})


def _parquet(path: Path, info: FormatInfo):
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # noqa: BLE001 - any pyarrow failure means a damaged file
        yield BadLine(1, f"the Parquet file is damaged ({type(exc).__name__})", fatal=True)
        return
    index = 0
    for batch in parquet.iter_batches(batch_size=4096):
        for item in batch.to_pylist():
            index += 1
            yield Row(index, item)
