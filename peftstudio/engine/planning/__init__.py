"""Planning: what this machine has, what a model needs, and the settings, estimates and alternatives that fit.

The public names below are imported on first use (PEP 562), so importing the package costs nothing and
its modules never import it back.
"""
from __future__ import annotations

from importlib import import_module

_EXPORTS = {
    "HardwareProfile": "hardware", "GPUInfo": "hardware", "hardware_profile": "hardware",
    "detect_hardware": "hardware",
    "OptimizationProfile": "profiles", "all_profiles": "profiles", "get_profile": "profiles",
    "save_user_profile": "profiles",
    "CatalogEntry": "catalog", "CATALOG": "catalog", "catalog_entry": "catalog", "smaller_models": "catalog",
    "ModelFacts": "facts",
    "model_facts": "model_facts", "facts_from_folder": "model_facts", "facts_from_gguf": "model_facts",
    "facts_from_config": "model_facts",
    "MemoryBreakdown": "memory_model", "estimate_memory": "memory_model", "weight_bytes": "memory_model",
    "lora_parameters": "memory_model",
    "TrainingEstimates": "estimates", "estimate": "estimates", "format_duration": "estimates",
    "Plan": "planner", "Alternative": "planner", "DatasetSummary": "planner", "Settings": "planner",
    "plan": "planner", "estimates_for": "planner", "precision_for": "planner", "device_budget": "planner",
    "fit_badge": "planner", "within_declared_ranges": "planner", "FITS": "planner", "NEEDS_4BIT": "planner",
    "TOO_LARGE": "planner",
    "run_micro_benchmark": "benchmark", "cached_throughput": "benchmark",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
