"""The cache of measured training speed (training/benchmark.py measures it with a few real steps).

Rates are kept per model, hardware, dataset and the settings that change speed, so the planner's estimates
can use them (confidence 0.8) later.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from peftstudio.engine import atomic, paths
from peftstudio.engine.config import TrainingConfig
from peftstudio.engine.planning.hardware import HardwareProfile

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


def record_throughput(config: TrainingConfig, hardware: HardwareProfile, rate: float) -> None:
    """Keep a measured rate (training/benchmark.py measures it) for later plans of the same run on this machine."""
    cache = _cache_file()
    try:
        data = json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    data[benchmark_key(config, hardware)] = rate
    atomic.write_cache(cache, json.dumps(data))
