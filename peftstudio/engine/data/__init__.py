"""Datasets: one DatasetFile per file (format, encoding, schema, rows, examples, inspect), validation,
repair, statistics, preparation for training and packing; tool-calling conversations (three layouts, one
shape); documents to a dataset (read, split, generate, check)."""
from peftstudio.engine.lazy_names import lazy

__all__, __getattr__ = lazy(__name__, {
    "dataset_file": ["DatasetFile", "validate_file", "compute_stats", "preview"],
    "validate": ["ValidationReport", "ValidationResult", "Inspection"],
    "stats": ["DatasetStats", "TokenCounter", "recommended_length"],
    "repair": ["repair_file", "RepairReport"],
    "formats": ["read_rows"],
    "prompts": ["prepare_prompts", "prompt_row", "prompt_report", "PromptData"],
    "tokenize": ["loss_pieces", "has_thinking", "split_reasoning", "THINKING_MODES"],
    "tool_calls": ["calls_in_text", "read_tools", "has_tools", "tool_problems", "assistant_turn", "mock_result"],
    "tool_render": ["native_messages"],
    "prepare": ["prepare", "PreparedData"],
    "schema": ["Schema", "guess_schema", "detect_schema", "normalize_row"],
    "detect": ["FormatInfo", "detect_format"],
    "documents": ["Document", "read_document", "read_documents", "document_files", "SUPPORTED"],
    "passages": ["Passage", "split_passages"],
    "synth": ["synthesize", "SynthResult", "plan_tasks", "report_path", "read_made", "write_reviewed"],
    "synth_recipes": ["recipe_for", "PROFILE_RECIPES", "RECIPE_WORDS"],
    "synth_checks": ["grounding", "row_flags", "check_rows"],
})
