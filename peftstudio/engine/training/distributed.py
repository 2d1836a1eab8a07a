"""Agreeing across the processes of a multi-process run: rank 0's pause/stop decision on every rank, a barrier
and a sum. Who may write run files, and the control file that carries requests, live in runs/ranks.py.
"""
from __future__ import annotations

from peftstudio.engine.runs.ranks import REQUESTS, is_distributed

ACTIONS = {None: 0, **{action: code for code, action in enumerate(REQUESTS, start=1)}}


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
