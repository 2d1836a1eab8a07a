"""Datasets: one DatasetFile per file (format, encoding, schema, rows, examples, inspect), validation,
repair, statistics, preparation for training and packing.

The public names below are imported on first use (PEP 562), so importing the package costs nothing and
its modules never import it back.
"""
from __future__ import annotations

from importlib import import_module

_EXPORTS = {
    "DatasetFile": "dataset_file", "validate_file": "dataset_file", "compute_stats": "dataset_file",
    "preview": "dataset_file",
    "ValidationReport": "validate", "ValidationResult": "validate", "Inspection": "validate",
    "DatasetStats": "stats", "TokenCounter": "stats", "recommended_length": "stats",
    "repair_file": "repair", "RepairReport": "repair",
    "read_rows": "formats",
    "prepare": "prepare", "PreparedData": "prepare",
    "Schema": "schema", "guess_schema": "schema", "detect_schema": "schema", "normalize_row": "schema",
    "FormatInfo": "detect", "detect_format": "detect",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
