"""The first examples of a dataset as the user wrote them, normalized, and as the model will see them."""
from __future__ import annotations

import itertools
from pathlib import Path

from peftstudio.engine.data.detect import detect_format
from peftstudio.engine.data.reader import Row, iter_rows
from peftstudio.engine.data.schema import guess_schema, normalize_row


def preview(path: str | Path, count: int = 5, tokenizer=None, column_mapping: dict | None = None,
            system_prompt: str | None = None) -> list[dict]:
    """[{"row", "original", "example", "model_text"}]; `model_text` is the chat template's exact output."""
    info = detect_format(path)
    if not info.is_dataset:
        return []
    rows = [item for item in itertools.islice(iter_rows(path, info), 200) if isinstance(item, Row)]
    schema = guess_schema([r.data for r in rows], column_mapping)
    if schema is None:
        return []
    out = []
    for row in rows:
        example = normalize_row(row.data, schema, system_prompt)
        if example is None:
            continue
        model_text = None
        if tokenizer is not None:
            model_text = (example["text"] + (tokenizer.eos_token or "")) if "text" in example else \
                tokenizer.apply_chat_template(example["messages"], tokenize=False)
        out.append({"row": row.line, "original": row.data, "example": example, "model_text": model_text})
        if len(out) >= count:
            break
    return out
