"""Datasets: one DatasetFile per file (format, encoding, schema, rows, examples, inspect), validation,
repair, statistics, preparation for training and packing."""
from peftstudio.engine.exports import lazy

__all__, __getattr__ = lazy(__name__, {
    "dataset_file": ["DatasetFile", "validate_file", "compute_stats", "preview"],
    "validate": ["ValidationReport", "ValidationResult", "Inspection"],
    "stats": ["DatasetStats", "TokenCounter", "recommended_length"],
    "repair": ["repair_file", "RepairReport"],
    "formats": ["read_rows"],
    "tokenize": ["loss_pieces", "has_thinking", "THINKING_MODES"],
    "prepare": ["prepare", "PreparedData"],
    "schema": ["Schema", "guess_schema", "detect_schema", "normalize_row"],
    "detect": ["FormatInfo", "detect_format"],
})
