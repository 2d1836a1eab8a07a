"""The first examples of a dataset as the user wrote them, normalized, and as the model will see them."""
from __future__ import annotations

from pathlib import Path

from peftstudio.engine.data.dataset_file import DatasetFile


def preview(path: str | Path, count: int = 5, tokenizer=None, column_mapping: dict | None = None,
            system_prompt: str | None = None) -> list[dict]:
    """[{"row", "original", "example", "model_text"}]; `model_text` is the chat template's exact output.
    (The preview part of `DatasetFile.inspect`, which gives it with the validation in the same pass.)"""
    with DatasetFile.open(path, column_mapping) as data:
        items = data.inspect(preview=count, system_prompt=system_prompt).preview
    if tokenizer is not None:
        for item in items:
            item["model_text"] = model_text(item["example"], tokenizer)
    return items


def model_text(example: dict, tokenizer) -> str:
    """Exactly what the model reads for an example: the chat template's output, or the text and end of text."""
    if "text" in example:
        return example["text"] + (tokenizer.eos_token or "")
    return tokenizer.apply_chat_template(example["messages"], tokenize=False)
