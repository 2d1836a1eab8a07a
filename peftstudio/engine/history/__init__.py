"""History: the store (an index of the run folders, rebuildable from them), versions, comparison, presets.

The public names below are imported on first use (PEP 562), so importing the package costs nothing and
its modules never import it back.
"""
from __future__ import annotations

from importlib import import_module

_EXPORTS = {
    "Store": "store", "default_store": "store", "take_notices": "store",
    "create_version": "versions", "list_versions": "versions", "latest_version": "versions",
    "find_version": "versions", "rollback": "versions", "archive": "versions", "delete_version": "versions",
    "cleanup_prompt": "versions", "verified_run_folder": "versions",
    "compare_runs": "compare", "config_diff": "compare", "run_series": "compare",
    "Preset": "presets", "save_preset": "presets", "load_preset": "presets", "list_presets": "presets",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
