"""Reading a whole dataset for training: every row, or a plain-language error."""
from __future__ import annotations

from pathlib import Path

from peftstudio.engine.data.dataset_file import DatasetFile
from peftstudio.engine.data.reader import BadLine
from peftstudio.engine.errors import PlainError


def unreadable(path: Path, what: str, why: str) -> PlainError:
    return PlainError(
        title="The dataset file could not be read",
        what=f"{path.name}: {what}",
        why=why,
        actions=["Check that this is the file you meant (JSON, JSONL, CSV, TSV, Parquet or plain text).",
                 "Run 'peftstudio validate FILE' to see every problem, or add '--fix OUT' to repair a copy.",
                 "Start from a sample dataset shipped with PEFT Studio and compare."],
        help_topic="datasets",
    )


def read_rows(path: str | Path) -> list[dict]:
    """All rows of a dataset; the first malformed line stops training with its line number."""
    path = Path(path)
    with DatasetFile.open(path) as data:
        if not data.info.is_dataset:
            reason = data.info.reason
            raise unreadable(path, reason[:1].lower() + reason[1:], "Training needs a file of examples.")
        rows = []
        for item in data.items():
            if isinstance(item, BadLine):
                raise unreadable(path, item.message + ".", "A line of the file is damaged or incomplete.")
            rows.append(item.data)
    if not rows:
        raise unreadable(path, "no examples were found.", "The file holds no rows with fields.")
    return rows
