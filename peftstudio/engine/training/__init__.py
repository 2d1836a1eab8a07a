"""Training: RunFolder (the run's folder, run.json, the lock), the Runner (this process or accelerate launch),
the session (transformers' Trainer + peft), events, checkpoints and anomalies."""
from peftstudio.engine.exports import lazy

__all__, __getattr__ = lazy(__name__, {
    "run_folder": ["RunFolder"],
    "runner": ["Runner", "needs_launch"],
    "session": ["TrainingSession"],
    "events": ["Status", "EventLog", "read_events", "last_status"],
    "run_lock": ["lock_run", "run_in_use"],
    "checkpoints": ["latest_checkpoint", "complete_checkpoints"],
    "run_index": ["known_run_folders", "read_run_info"],
    "launcher": ["LaunchPlan", "cluster_command"],
    "distributed": ["is_main"],
    "preference": ["TRAINERS", "prepare_preferences"],
    "continuation": ["DATA_MODES", "carry_advice", "continue_config", "version_to_continue", "parse_reference"],
})
