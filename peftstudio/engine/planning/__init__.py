"""Planning: what this machine has, what a model needs, and the settings, estimates and alternatives that fit."""
from peftstudio.engine.lazy_names import lazy

__all__, __getattr__ = lazy(__name__, {
    "hardware": ["HardwareProfile", "GPUInfo", "hardware_profile", "detect_hardware"],
    "profiles": ["OptimizationProfile", "all_profiles", "get_profile", "save_user_profile", "preference_defaults",
                 "PreferenceDefaults"],
    "catalog": ["CatalogEntry", "CATALOG", "catalog_entry", "smaller_models"],
    "facts": ["ModelFacts"],
    "facts_reader": ["model_facts", "facts_from_folder", "facts_from_gguf", "facts_from_config"],
    "memory_model": ["MemoryBreakdown", "estimate_memory", "weight_bytes", "lora_parameters"],
    "estimates": ["TrainingEstimates", "estimate", "format_duration", "method_name", "time_text", "energy_text",
                  "SOURCE_WORDS"],
    "planner": ["Plan", "Alternative", "DatasetSummary", "Settings", "plan", "estimates_for", "precision_for",
                "device_budget", "fit_badge", "within_declared_ranges", "FITS", "NEEDS_4BIT", "TOO_LARGE",
                "summary_line"],
    "benchmark": ["cached_throughput", "record_throughput"],
    "run_estimate": ["dataset_summary", "planned_seconds"],
    "method_costs": ["method_notes", "method_memory", "method_time_factor"],
})
