"""The run as a noun: everything about one training run on disk, below every part of the app that uses it.

A run is a folder (`RunFolder`): its config, run.json (written only here), the event log (written by
`EventLog`, read by `read_events`, followed live by `EventFollower`), the checkpoint catalogue, the trained
adapter, the lock that gives it one owner, and the control file through which a multi-process run is paused.
`layout.py` names every file in the folder; nothing outside this package spells one. `index.py` lists the
run folders a data folder knows, so the history (engine/history) can always be rebuilt from the folders.

This package stands on `settings`, `config`, `paths`, `atomic` and `errors` only (an import-linter contract):
training, evaluation, export, history, inference and the windows all read and write runs through it.
"""
from peftstudio.engine.lazy_names import lazy

__all__, __getattr__ = lazy(__name__, {
    "folder": ["RunFolder", "not_a_run_folder"],
    "events": ["Status", "EventLog", "EventFollower", "Listener", "read_events", "run_events", "last_status",
               "can_transition"],
    "lock": ["RunLock", "lock_run", "run_in_use", "is_locked_elsewhere", "live_status"],
    "checkpoints": ["latest_checkpoint", "complete_checkpoints"],
    "index": ["known_run_folders", "run_folders_in", "read_run_info"],
    "ranks": ["is_main"],
})
