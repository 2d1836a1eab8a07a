"""Running as one of several processes (accelerate launch / torchrun): who writes, and agreeing on pauses.

Only the main process (rank 0) writes run files: events, run.json, checkpoint markers, the adapter and the
store; the Trainer itself saves model and optimizer state from rank 0 and each rank's RNG state. Pause and
stop requests arrive as a control file in the run folder (written by the GUI or CLI that launched the
run); rank 0 reads it and broadcasts the decision so every rank leaves the loop at the same step.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from peftstudio.engine import atomic

CONTROL_FILE = "control.json"
ACTIONS = {None: 0, "pause": 1, "stop": 2}


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
    if action not in ("pause", "stop"):
        raise ValueError(action)
    atomic.write_json(Path(run_dir) / CONTROL_FILE, {"action": action, "at": time.time()})


def requested(run_dir: Path) -> str | None:
    try:
        return json.loads((Path(run_dir) / CONTROL_FILE).read_text(encoding="utf-8")).get("action")
    except (OSError, ValueError):
        return None


def clear_requests(run_dir: Path) -> None:
    (Path(run_dir) / CONTROL_FILE).unlink(missing_ok=True)


def _group():
    """torch.distributed when this process is one of several in an initialised group, else None."""
    if not is_distributed():
        return None
    import torch.distributed as dist

    return dist if dist.is_available() and dist.is_initialized() else None


def _tensor(values: list[int], dist):
    import torch

    return torch.tensor(values, dtype=torch.long, device="cuda" if dist.get_backend() == "nccl" else "cpu")


def agree(action: str | None) -> str | None:
    """Rank 0's decision, on every rank (a collective: every rank must call it at the same point)."""
    dist = _group()
    if dist is None:
        return action
    code = _tensor([ACTIONS[action]], dist)
    dist.broadcast(code, src=0)
    return {v: k for k, v in ACTIONS.items()}[int(code.item())]


def barrier() -> None:
    dist = _group()
    if dist is not None:
        dist.barrier()


def all_reduce_sum(values: list[int]) -> list[int]:
    dist = _group()
    if dist is None:
        return values
    tensor = _tensor(values, dist)
    dist.all_reduce(tensor)
    return [int(v) for v in tensor.tolist()]
