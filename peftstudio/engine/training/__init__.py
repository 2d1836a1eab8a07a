"""Training: RunFolder (the run's folder, run.json, the lock), the Runner (this process or accelerate launch),
the session (transformers' Trainer + peft), events, checkpoints and anomalies; the run queue and sweeps."""
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
    "run_queue": ["RunQueue", "QueueItem", "WAITING", "RUNNING", "DONE", "FAILED", "STOPPED", "PRUNED", "SKIPPED"],
    "queue_runner": ["QueueRunner", "queue_running_elsewhere"],
    "sweep_space": ["parse_vary", "Dimension", "SWEEPABLE", "ALIASES"],
    "sweep": ["plan_sweep", "create_sweep", "list_sweeps", "SweepPlan", "SAMPLERS", "OBJECTIVES"],
    "sweep_results": ["results", "keep_best", "SweepResults", "TrialResult"],
    "continuation": ["DATA_MODES", "carry_advice", "continue_config", "version_to_continue", "parse_reference"],
})
