"""Which process of a multi-process run (accelerate launch / torchrun) may write the run's files.

Only the main process (rank 0) writes run files: events, run.json, checkpoint markers, the adapter and the
store; the Trainer itself saves model and optimizer state from rank 0 and each rank's RNG state. Pause and
stop requests arrive as `control.json` in the run folder (written by the GUI or CLI that launched the run);
rank 0 reads it and training/distributed.py broadcasts the decision, so every rank leaves the loop at the
same step.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from peftstudio.engine import atomic
from peftstudio.engine.runs.layout import CONTROL_FILE

REQUESTS = ("pause", "stop")


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main() -> bool:
    return rank() == 0


def is_distributed() -> bool:
    return world_size() > 1


def request(run_dir: Path, action: str) -> None:
    """Ask the processes training `run_dir` to pause or stop at their next step boundary."""
    if action not in REQUESTS:
        raise ValueError(action)
    atomic.write_json(Path(run_dir) / CONTROL_FILE, {"action": action, "at": time.time()})


def requested(run_dir: Path) -> str | None:
    try:
        return json.loads((Path(run_dir) / CONTROL_FILE).read_text(encoding="utf-8")).get("action")
    except (OSError, ValueError, AttributeError):
        return None


def clear_requests(run_dir: Path) -> None:
    (Path(run_dir) / CONTROL_FILE).unlink(missing_ok=True)
