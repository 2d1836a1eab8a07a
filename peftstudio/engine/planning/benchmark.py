"""A short real micro-benchmark: a few training steps of the actual config on this machine.

The measured loss-carrying tokens per second are cached per model, hardware, dataset and the
settings that change speed, so the planner's estimates can use them (confidence 0.8) later.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

from peftstudio.engine import atomic, paths
from peftstudio.engine.config import TrainingConfig
from peftstudio.engine.planning.hardware import HardwareProfile
from peftstudio.engine.runs.events import Status, read_events
from peftstudio.engine.training.session import TrainingSession

SPEED_FIELDS = ("model_name", "model_path", "batch_size", "max_seq_length", "lora_r", "target_modules",
                "precision", "quantization", "gradient_checkpointing", "packing")


def benchmark_key(config: TrainingConfig, hardware: HardwareProfile) -> str:
    digest = hashlib.sha256()
    with open(config.dataset_path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    machine = [hardware.cpu_model, hardware.cpu_threads] + [g.name for g in hardware.gpus]
    settings = {name: getattr(config, name) for name in SPEED_FIELDS}
    digest.update(json.dumps([machine, settings], sort_keys=True, default=str).encode())
    return digest.hexdigest()[:24]


def _cache_file() -> Path:
    return paths.cache_dir() / "benchmarks.json"


def cached_throughput(config: TrainingConfig, hardware: HardwareProfile) -> float | None:
    try:
        return json.loads(_cache_file().read_text(encoding="utf-8")).get(benchmark_key(config, hardware))
    except (OSError, ValueError):
        return None


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
    cache = _cache_file()
    try:
        data = json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    data[benchmark_key(config, hardware)] = rate
    atomic.write_cache(cache, json.dumps(data))
    return rate
