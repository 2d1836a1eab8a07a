"""Exporting runs: Hugging Face (adapter, merged), GGUF, Ollama, LM Studio, each verified by loading it back.

The public names below are imported on first use (PEP 562), so importing the package costs nothing and
its modules never import it back.
"""
from __future__ import annotations

from importlib import import_module

_EXPORTS = {
    "export_run": "exporter", "ExportResult": "exporter", "FORMATS": "exporter",
    "exportable": "architectures", "ARCHITECTURES": "architectures",
    "check_destination": "safety", "EXPORT_MARKER": "safety",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
