"""Exporting runs: Hugging Face (adapter, merged), GGUF, Ollama, LM Studio, each verified by loading it back."""
from peftstudio.engine.lazy_names import lazy

__all__, __getattr__ = lazy(__name__, {
    "exporter": ["export_run", "ExportResult", "quant_choices", "exported_gguf_files"],
    "formats": ["FORMATS", "GGUF_FORMATS", "GGUF_TYPES", "QUANTS", "DEFAULT_QUANT"],
    "llama_cpp_runner": ["GGUFModel", "llama_cpp_available", "timed_chat"],
    "architectures": ["exportable", "ARCHITECTURES"],
    "safety": ["check_destination", "EXPORT_MARKER"],
    "push": ["push_to_hub"],
    "handover": ["hand_over", "app_for", "HandOver"],
})
