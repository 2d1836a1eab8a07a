"""Training: the Runner (this process or accelerate launch), the session (transformers' Trainer + peft, as
named phases), the preference trainers, GRPO (learning from rewards), anomalies, the run queue and sweeps. What a run leaves on disk (its
folder, run.json, events, checkpoints, lock) belongs to engine/runs, which this package writes through."""
from peftstudio.engine.lazy_names import lazy

__all__, __getattr__ = lazy(__name__, {
    "runner": ["Runner", "needs_launch"],
    "session": ["TrainingSession"],
    "benchmark": ["run_micro_benchmark"],
    "launcher": ["LaunchPlan", "cluster_command"],
    "preference": ["TRAINERS", "prepare_preferences"],
    "reward_preview": ["preview_rewards", "preview_warnings"],
    "run_queue": ["RunQueue", "QueueItem", "WAITING", "RUNNING", "DONE", "FAILED", "STOPPED", "PRUNED", "SKIPPED"],
    "queue_runner": ["QueueRunner", "queue_running_elsewhere"],
    "sweep_space": ["parse_vary", "Dimension", "SWEEPABLE", "ALIASES"],
    "sweep": ["plan_sweep", "create_sweep", "list_sweeps", "SweepPlan", "SAMPLERS", "OBJECTIVES"],
    "sweep_results": ["results", "keep_best", "SweepResults", "TrialResult"],
    "continuation": ["DATA_MODES", "carry_advice", "continue_config", "version_to_continue", "parse_reference"],
})
