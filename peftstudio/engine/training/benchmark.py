"""A short real micro-benchmark: a few training steps of the actual config on this machine, kept in the planner's
cache (planning/benchmark.py) so its estimates use the measured speed."""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

from peftstudio.engine.config import TrainingConfig
from peftstudio.engine.planning.benchmark import record_throughput
from peftstudio.engine.planning.hardware import HardwareProfile
from peftstudio.engine.runs.events import Status, read_events
from peftstudio.engine.training.session import TrainingSession


def run_micro_benchmark(config: TrainingConfig, hardware: HardwareProfile, steps: int = 8) -> float:
    """Tokens per second (padding excluded) over steps 3..`steps`: the first two warm up, cached.

    All tokens rather than loss-carrying ones: compute is spent on every token, so this rate is steady
    from batch to batch, while the share of loss tokens varies with each batch's examples."""
    folder = Path(tempfile.mkdtemp(prefix="peftstudio-benchmark-"))
    try:
        trial = replace(config, max_steps=steps, save_steps=10**6, eval_strategy="no", validation_split=0.0)
        session = TrainingSession.create(trial, folder / "run")
        if session.run() != Status.COMPLETED:
            raise session.error
        metrics = [e for e in read_events(session.events.path) if e["type"] == "metrics" and not e["heartbeat"]]
        first, last = metrics[1], metrics[-1]
        rate = (last["input_tokens"] - first["input_tokens"]) / max(1e-9, last["time"] - first["time"])
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    record_throughput(config, hardware, rate)
    return rate
