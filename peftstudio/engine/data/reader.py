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
PARQUET_BATCH_ROWS = 256  # rows are decoded a batch at a time (their total is bounded first): memory follows a batch


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
    advice: str = ""  # what to do, where the usual "correct that line" does not fit


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
    """Rows of a Parquet file, bounded by what they expand to before any row is decoded: a few KB of compressed,
    dictionary-encoded data can decode to many GB (pyarrow has no such limit of its own). First the metadata
    (uncompressed sizes, and value counts times widths for fixed-width columns), then each column of each row
    group read on its own with text kept dictionary-encoded, so that its expanded size is counted exactly
    without being materialised; only then are the rows decoded, a batch at a time."""
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(handle)
        metadata = parquet.metadata
        declared = _declared_bytes(metadata)
    except Exception as exc:  # noqa: BLE001 - any pyarrow failure means a damaged file
        yield BadLine(1, f"the Parquet file is damaged or cut short ({_pyarrow_reason(exc)})", fatal=True)
        return
    if declared > MAX_READ_BYTES:
        yield _too_large(declared)
        return
    try:
        expanded = _expanded_file_bytes(handle, metadata)
    except Exception as exc:  # noqa: BLE001 - a damaged page shows only while reading it
        yield BadLine(1, f"the Parquet file is damaged ({_pyarrow_reason(exc)})", fatal=True)
        return
    if expanded > MAX_READ_BYTES:
        yield _too_large(expanded)
        return
    index = 0
    try:
        for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS):  # reads at offsets: no seek needed
            for item in batch.to_pylist():
                index += 1
                yield Row(index, item)
    except Exception as exc:  # noqa: BLE001 - a damaged page shows only while reading it
        yield BadLine(index + 1, f"the Parquet file is damaged after row {index} ({_pyarrow_reason(exc)})",
                      fatal=True)


FIXED_WIDTH = {"BOOLEAN": 1, "INT32": 4, "INT64": 8, "INT96": 12, "FLOAT": 4, "DOUBLE": 8}


def _declared_bytes(metadata) -> int:
    """The larger of what the metadata says the data takes uncompressed and what its fixed-width values take
    decoded (run-length encoding packs a billion equal numbers into a few bytes)."""
    uncompressed = fixed = 0
    for group in range(metadata.num_row_groups):
        row_group = metadata.row_group(group)
        uncompressed += row_group.total_byte_size
        for column in range(row_group.num_columns):
            chunk = row_group.column(column)
            width = FIXED_WIDTH.get(chunk.physical_type) or (
                metadata.schema.column(column).length if chunk.physical_type == "FIXED_LEN_BYTE_ARRAY" else 0)
            fixed += chunk.num_values * (width or 0)
    return max(uncompressed, fixed)


def _expanded_file_bytes(handle, metadata) -> int:
    """Bytes the rows take once decoded, counted column by column with text read as dictionaries: memory stays
    within one column chunk's stored size however far its values would expand."""
    import pyarrow.parquet as pq

    text_columns = [metadata.schema.column(i).path for i in range(metadata.num_columns)
                    if metadata.schema.column(i).physical_type == "BYTE_ARRAY"]
    handle.seek(0)
    parquet = pq.ParquetFile(handle, read_dictionary=text_columns)
    total = 0
    for group in range(metadata.num_row_groups):
        for name in parquet.schema_arrow.names:
            total += _expanded_bytes(parquet.read_row_group(group, columns=[name]).column(0))
            if total > MAX_READ_BYTES:
                return total
    return total


def _expanded_bytes(array) -> int:
    """Bytes an Arrow array takes with its dictionaries decoded (each value counted once per row that uses it),
    computed from lengths, never by decoding. Hand-written: pyarrow has no such measure."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(array, pa.ChunkedArray):
        return sum(_expanded_bytes(chunk) for chunk in array.chunks)
    kind = array.type
    if pa.types.is_dictionary(kind):
        values = array.dictionary
        if pa.types.is_binary(values.type) or pa.types.is_string(values.type) or \
                pa.types.is_large_binary(values.type) or pa.types.is_large_string(values.type):
            lengths = pc.binary_length(values)
            return int(pc.sum(pc.take(lengths, array.indices)).as_py() or 0) + 4 * len(array)
        return (values.nbytes // max(len(values), 1) + 4) * len(array)
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_map(kind):
        return _expanded_bytes(array.flatten()) + 4 * len(array)
    if pa.types.is_struct(kind):
        return sum(_expanded_bytes(child) for child in array.flatten())
    return array.nbytes


def _too_large(expanded: int) -> BadLine:
    return BadLine(1, f"the Parquet file is too large when expanded: its rows take about "
                   f"{expanded / 2**30:.1f} GB once decompressed and decoded, and the limit is 1 GB", fatal=True,
                   advice="Split the file into smaller files, or shorten its longest values (a compressed file "
                   "can hold far more than its size on disk).")


def _pyarrow_reason(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]
