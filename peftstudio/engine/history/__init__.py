"""History: the store (an index of the run folders, rebuildable from them), versions, comparison, presets."""
from peftstudio.engine.lazy_names import lazy

__all__, __getattr__ = lazy(__name__, {
    "store": ["Store", "default_store", "take_notices"],
    "versions": ["create_version", "list_versions", "latest_version", "find_version", "rollback", "archive",
                 "delete_version", "cleanup_prompt", "verified_run_folder", "rename_model", "default_model_name",
                 "clean_model_name", "record_scorecard", "worse_than_parent", "version_of_run"],
    "compare": ["compare_runs", "config_diff", "run_series", "METRICS"],
    "presets": ["Preset", "save_preset", "load_preset", "list_presets"],
    "feedback": ["record_feedback", "read_feedback", "feedback_rows", "export_feedback"],
})
