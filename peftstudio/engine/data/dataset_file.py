"""DatasetFile: a dataset file opened once: its format, encoding and schema, its rows and examples, and one
`inspect()` that validates, previews and counts tokens in a single pass.

    data = DatasetFile.open("support.jsonl", mapping={"prompt": "q", "response": "a"})
    data.info, data.schema                      # sniffed once, from the same open file
    for row in data.rows(): ...                 # Row(line, fields) (BadLine for damaged lines: `items()`)
    for line, example in data.examples(): ...   # normalized: {"messages": [...]} or {"text": ...}
    result = data.inspect(tokenizer, max_seq_length=1024, preview=5)
    result.report, result.stats, result.preview

Validation, statistics, the preview, repair, training's reader, the wizard, `plan` and `validate` all go
through here, so they agree on the format, the schema, the column mapping and the maximum length. The file
is opened once; each further pass over it rewinds the same handle (`passes` counts them).
"""
from __future__ import annotations

import itertools
from pathlib import Path
from typing import Iterator

from peftstudio.engine.data.detect import FormatInfo, check_path, sniff
from peftstudio.engine.data.reader import BadLine, Row, iter_rows_from
from peftstudio.engine.data.schema import Schema, guess_schema, normalize_row
from peftstudio.engine.data.stats import DatasetStats
from peftstudio.engine.data.tokenize import model_text
from peftstudio.engine.data.validate import Inspection, ValidationReport, validate

SCHEMA_SAMPLE = 200  # rows read to recognise the schema (they are kept, not read twice)


class DatasetFile:
    def __init__(self, path: Path, info: FormatInfo, mapping: dict | None, handle=None):
        self.path = path
        self.info = info
        self.mapping = dict(mapping) if mapping else None
        self._handle = handle
        self._head: list[Row | BadLine] = []
        self._rest: Iterator | None = None  # the first pass continues where the schema sniffing stopped
        self.schema: Schema | None = None
        self.passes = 0

    @classmethod
    def open(cls, path: str | Path, mapping: dict | None = None) -> "DatasetFile":
        """Never raises for a bad file: `info.is_dataset` and `schema` say what was found."""
        path = Path(path)
        problem = check_path(path)
        if problem is not None:
            return cls(path, problem, mapping)
        handle = open(path, "rb")  # closed by close(), or when the object goes away
        data = cls(path, sniff(handle, path), mapping, handle)
        if data.info.is_dataset:
            stream = data._pass()
            data._head = list(itertools.islice(stream, SCHEMA_SAMPLE))
            data._rest = stream
            data.schema = guess_schema([r.data for r in data._head if isinstance(r, Row)], data.mapping)
        return data

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def __enter__(self) -> "DatasetFile":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()

    # ---- passes over the file ----------------------------------------------------------------------
    def _pass(self) -> Iterator[Row | BadLine]:
        self.passes += 1
        return iter_rows_from(self._handle, self.info)

    def items(self) -> Iterator[Row | BadLine]:
        """Every row and every damaged line, in file order (the first pass reuses the sniffed head)."""
        if not self.info.is_dataset or self._handle is None:
            return iter(())
        if self._rest is not None:
            head, rest, self._rest = self._head, self._rest, None
            return itertools.chain(head, rest)
        return self._pass()

    @property
    def head(self) -> list[Row | BadLine]:
        return list(self._head)

    def rows(self) -> Iterator[Row]:
        return (item for item in self.items() if isinstance(item, Row))

    def examples(self, system_prompt: str | None = None) -> Iterator[tuple[int, dict]]:
        """(line, normalized example) for every row the schema can read."""
        if self.schema is None:
            return
        for row in self.rows():
            try:
                example = normalize_row(row.data, self.schema, system_prompt)
            except (AttributeError, TypeError):
                example = None
            if example is not None:
                yield row.line, example

    def rows_at(self, lines: set[int], limit: int = 200) -> list[dict]:
        """The rows at these line numbers as the user wrote them (normalized where readable): how the
        wizard shows flagged rows that lie beyond the preview."""
        wanted = set(sorted(lines)[:limit])
        found: list[dict] = []
        for row in self.rows() if wanted else ():
            if row.line not in wanted:
                continue
            try:
                example = normalize_row(row.data, self.schema, None) if self.schema is not None else None
            except (AttributeError, TypeError):
                example = None
            found.append({"row": row.line, "original": row.data, "example": example, "model_text": None})
            if len(found) == len(wanted):
                break
        return found

    # ---- the single inspection pass ------------------------------------------------------------------
    def inspect(self, tokenizer=None, max_seq_length: int | None = None, preview: int = 0,
                min_examples: int = 50, system_prompt: str | None = None) -> Inspection:
        return validate(self, tokenizer=tokenizer, max_seq_length=max_seq_length, preview=preview,
                        min_examples=min_examples, system_prompt=system_prompt)


# ---- one-call shortcuts, each a part of `inspect` ------------------------------------------------------
def validate_file(path: str | Path, *, column_mapping: dict | None = None, min_examples: int = 50,
                  tokenizer=None, max_seq_length: int | None = None) -> ValidationReport:
    with DatasetFile.open(path, column_mapping) as data:
        return data.inspect(tokenizer, max_seq_length=max_seq_length, min_examples=min_examples).report


def compute_stats(path: str | Path, tokenizer, column_mapping: dict | None = None) -> DatasetStats:
    """Token statistics of a file in the chosen model's tokens."""
    with DatasetFile.open(path, column_mapping) as data:
        return data.inspect(tokenizer).stats or DatasetStats(rows=len(data.head))


def preview(path: str | Path, count: int = 5, tokenizer=None, column_mapping: dict | None = None,
            system_prompt: str | None = None) -> list[dict]:
    """[{"row", "original", "example", "model_text"}]: the first examples as written, normalized, and (with a
    tokenizer) exactly as the model will read them."""
    with DatasetFile.open(path, column_mapping) as data:
        items = data.inspect(preview=count, system_prompt=system_prompt).preview
    if tokenizer is not None:
        for item in items:
            item["model_text"] = model_text(item["example"], tokenizer)
    return items
