"""Streaming rows out of a dataset file, with the line number of each row and of each bad line.

JSONL, CSV/TSV, text and Parquet are read a row at a time (memory stays flat for big files);
a JSON document is parsed whole.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from peftstudio.engine.data.detect import FormatInfo

csv.field_size_limit(1 << 30)

MAX_DEPTH = 64  # real examples nest a few levels (messages -> message -> content); deeper is damage or an attack
MAX_READ_BYTES = 1 << 30  # the 1 GB limit applies to what a file expands to, not only to its size on disk
PARQUET_BATCH_ROWS = 256  # small batches: a bomb is caught after a few MB, not after it filled the memory


class NotJSONNumber(ValueError):
    pass


def _refuse_constant(name: str):
    raise NotJSONNumber(f"{name} is not a value JSON allows; write null or a number")


def parse_json(text: str):
    """json.loads that refuses NaN/Infinity (Python accepts them, other tools do not) and deep nesting."""
    value = json.loads(text, parse_constant=_refuse_constant)
    # fewer brackets than the limit cannot nest past it: a C-speed count spares most rows the walk
    if text.count("[") + text.count("{") > MAX_DEPTH and nesting_depth(value) > MAX_DEPTH:
        raise RecursionError("nested too deeply")
    return value


def nesting_depth(value, limit: int = MAX_DEPTH) -> int:
    """How deep lists and objects nest (iterative: a hostile depth cannot overflow the stack); stops past `limit`."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            if deepest > limit:
                return deepest
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def _json_problem(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return f"it nests lists or objects more than {MAX_DEPTH} levels deep"
    if isinstance(exc, NotJSONNumber):
        return str(exc)
    return getattr(exc, "msg", str(exc))


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
    with open(path, "rb") as handle:
        yield from iter_rows_from(handle, info)


def iter_rows_from(handle, info: FormatInfo) -> Iterator[Row | BadLine]:
    """Rows of an open binary file, from its start (DatasetFile keeps one handle for every pass)."""
    handle.seek(0)
    if info.format == "parquet":
        yield from _parquet(handle, info)
        return
    text = io.TextIOWrapper(handle, encoding=info.encoding, newline="",
                            errors="replace" if info.encoding == "cp1252" else "surrogateescape")
    try:
        yield from {"jsonl": _jsonl, "json": _json, "csv": _csv, "tsv": _csv, "txt": _txt}[info.format](text, info)
    finally:
        text.detach()  # the binary handle stays open for the next pass


def _jsonl(text, info: FormatInfo):
    for number, line in enumerate(text, 1):
        if not line.strip():
            continue
        try:
            value = parse_json(line)
        except (ValueError, RecursionError) as exc:
            yield BadLine(number, f"line {number} is not valid JSON ({_json_problem(exc)})")
            continue
        if isinstance(value, dict):
            yield Row(number, value)
        else:
            yield BadLine(number, f"line {number} is a JSON {type(value).__name__}, not an object with fields")


def _json(handle, info: FormatInfo):
    text = handle.read()
    try:
        value = parse_json(text.lstrip("\ufeff"))
    except RecursionError as exc:
        yield BadLine(1, f"the JSON is not valid: {_json_problem(exc)}", fatal=True)
        return
    except ValueError as exc:
        if hasattr(exc, "lineno"):
            yield BadLine(exc.lineno, f"the JSON is not valid at line {exc.lineno}, column {exc.colno} "
                          f"({_json_problem(exc)})", fatal=True)
        else:
            yield BadLine(1, f"the JSON is not valid ({_json_problem(exc)})", fatal=True)
        return
    if isinstance(value, dict):
        # {"data": [...]} wraps the rows; {"messages": [...]} is itself one row, and so is a conversation with
        # its "tools" list (a one-line JSONL file of a tool-calling conversation reads as this one object)
        one_row = "messages" in value or "conversations" in value
        lists = [v for k, v in value.items() if isinstance(v, list) and any(isinstance(x, dict) for x in v)
                 and k not in ("messages", "conversations", "tools")]
        value = lists[0] if len(lists) == 1 and not one_row else [value]
    if not isinstance(value, list):
        yield BadLine(1, "the JSON holds a single value, not a list of examples", fatal=True)
        return
    for index, item in enumerate(value, 1):
        if isinstance(item, dict):
            yield Row(index, item)
        else:
            yield BadLine(index, f"item {index} is a JSON {type(item).__name__}, not an object with fields")


def _csv(handle, info: FormatInfo):
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


def _txt(handle, info: FormatInfo):
    """Plain text: one example per paragraph (blank-line separated)."""
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


def _parquet(handle, info: FormatInfo):
    """Rows of a Parquet file, bounded by what they expand to: a few KB of compressed, dictionary-encoded
    data can decode to many GB. The metadata's uncompressed sizes are checked before anything is read,
    then the decoded bytes are counted batch by batch (pyarrow has no such limit of its own)."""
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(handle)
        metadata = parquet.metadata
        declared = sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
    except Exception as exc:  # noqa: BLE001 - any pyarrow failure means a damaged file
        yield BadLine(1, f"the Parquet file is damaged or cut short ({_pyarrow_reason(exc)})", fatal=True)
        return
    if declared > MAX_READ_BYTES:
        yield BadLine(1, f"the Parquet file expands to {declared / 2**30:.1f} GB when read; the limit is 1 GB",
                      fatal=True)
        return
    index, read = 0, 0
    try:
        for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS):
            read += _decoded_bytes(batch)
            # the first batches tell the size per row; twice the limit projected over every row is refused
            # at once (a margin for files whose first rows are longer than the rest)
            projected = read / (index + batch.num_rows) * metadata.num_rows
            if read > MAX_READ_BYTES or projected > 2 * MAX_READ_BYTES:
                yield BadLine(index + 1, f"the Parquet file expands to about {max(read, projected) / 2**30:.1f} GB "
                              "when read; the limit is 1 GB", fatal=True)
                return
            for item in batch.to_pylist():
                index += 1
                yield Row(index, item)
    except Exception as exc:  # noqa: BLE001 - a damaged page shows only while reading it
        yield BadLine(index + 1, f"the Parquet file is damaged after row {index} ({_pyarrow_reason(exc)})",
                      fatal=True)


def _decoded_bytes(batch) -> int:
    """Bytes the batch takes once decoded: dictionary columns count each value once per row, as Python will."""
    import pyarrow as pa

    total = 0
    for column in batch.columns:
        if pa.types.is_dictionary(column.type):
            column = column.dictionary_decode()
        total += column.nbytes
    return total


def _pyarrow_reason(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]
