"""Training: RunFolder (the run's folder, run.json, the lock), the Runner (this process or accelerate launch),
the session (transformers' Trainer + peft), events, checkpoints and anomalies.

The public names below are imported on first use (PEP 562), so importing the package costs nothing and
its modules never import it back.
"""
from __future__ import annotations

from importlib import import_module

_EXPORTS = {
    "RunFolder": "run_folder",
    "Runner": "runner", "needs_launch": "runner",
    "TrainingSession": "session",
    "Status": "events", "EventLog": "events", "read_events": "events", "last_status": "events",
    "lock_run": "run_lock", "run_in_use": "run_lock",
    "latest_checkpoint": "checkpoints", "complete_checkpoints": "checkpoints",
    "known_run_folders": "run_index",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
