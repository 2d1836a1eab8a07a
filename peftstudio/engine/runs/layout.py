"""The name of every file in a run folder, declared once. Nothing outside `engine/runs/` spells one of them:
the rest of the app asks a `RunFolder` for the path (a test scans the package for stray literals).

    <run>/config.json              the TrainingConfig, exactly as used                   (RunFolder)
    <run>/run.json                 id, unique id, model, dataset, status, summary,       (RunFolder, its only writer)
                                   version record, exports
    <run>/events.jsonl             the append-only event record                          (runs/events.py)
    <run>/checkpoints/checkpoint-N resumable Trainer state, complete when marked         (runs/checkpoints.py)
    <run>/adapter/                 the trained adapter, once complete
    <run>/adapter.tmp/             the adapter being saved, renamed into place whole
    <run>/adapter-initial/         the PiSSA/OLoRA starting adapter, kept to convert at the end
    <run>/conversion/              scratch space for that conversion
    <run>/feedback.jsonl           the user's judgements of this version's answers       (history/feedback.py)
    <run>/control.json             a pause or stop request to a multi-process run        (runs/ranks.py)
    <run>/accelerate_config.yaml   how a multi-process run was launched                  (training/launcher.py)
    <run>/launch.sh                the same launch, runnable outside the app
    <run>/launcher.log             the launched processes' output
    <run>/.lock                    held by the process that has the run open             (runs/lock.py)

A data folder's `run-folders.txt` lists the run folders made outside its `runs/` folder (runs/index.py).
"""
from __future__ import annotations

CONFIG_FILE = "config.json"
INFO_FILE = "run.json"
EVENTS_FILE = "events.jsonl"
CHECKPOINTS_DIR = "checkpoints"
ADAPTER_DIR = "adapter"
ADAPTER_STAGING_DIR = "adapter.tmp"
INITIAL_ADAPTER_DIR = "adapter-initial"
CONVERSION_DIR = "conversion"
FEEDBACK_FILE = "feedback.jsonl"
CONTROL_FILE = "control.json"
ACCELERATE_CONFIG_FILE = "accelerate_config.yaml"
LAUNCH_SCRIPT_FILE = "launch.sh"
LAUNCH_LOG_FILE = "launcher.log"
LOCK_FILE = ".lock"
KNOWN_RUNS_FILE = "run-folders.txt"  # in the data folder, not in a run
# a saved peft adapter's own description (peft's name): its presence tells a finished adapter folder
ADAPTER_CONFIG_FILE = "adapter_config.json"
