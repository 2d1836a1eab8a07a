"""Writing the same rows in every supported format and encoding (test helpers)."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

FORMATS = ("jsonl", "json", "json_wrapped", "csv", "tsv", "txt", "parquet")


def write_dataset(rows: list[dict], folder: Path, fmt: str, encoding: str = "utf-8", name: str = "data") -> Path:
    """Rows -> a file of the given format; `txt` writes each row's values as one paragraph."""
    suffix = {"json_wrapped": "json", "txt": "txt"}.get(fmt, fmt)
    path = folder / f"{name}.{suffix}"
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(rows), path)
        return path
    if fmt == "jsonl":
        text = "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n"
    elif fmt == "json":
        text = json.dumps(rows, ensure_ascii=False, indent=1)
    elif fmt == "json_wrapped":
        text = json.dumps({"version": 1, "data": rows}, ensure_ascii=False)
    elif fmt in ("csv", "tsv"):
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), dialect="excel-tab" if fmt == "tsv" else "excel")
        writer.writeheader()
        writer.writerows(rows)
        text = buffer.getvalue()
    elif fmt == "txt":
        text = "\n\n".join(" ".join(str(v) for v in r.values()) for r in rows) + "\n"
    else:
        raise ValueError(fmt)
    data = text.encode("utf-8-sig" if encoding == "utf-8-sig" else encoding)
    path.write_bytes(data)
    return path


def expected_format(fmt: str) -> str:
    return {"json_wrapped": "json"}.get(fmt, fmt)
