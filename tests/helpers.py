"""Helpers shared by the tests (importable as `helpers`: tests/ is on sys.path, see conftest.py)."""
from __future__ import annotations

from pathlib import Path


def signature_rows(count: int = 40) -> list[dict]:
    """A small distinctive dataset: the assistant always signs with a made-up phrase."""
    return [{"instruction": f"What is {i} plus {i}?", "input": "",
             "output": f"{i} plus {i} is {2 * i}. Signed, Zorblax."} for i in range(count)]


def small_config(dataset: Path, **overrides):
    from peftstudio.engine.config import TrainingConfig

    settings = dict(dataset_path=str(dataset), max_steps=6, batch_size=4, learning_rate=1e-3,
                    max_seq_length=96, save_steps=3, eval_steps=100, lora_r=8, lora_alpha=16)
    settings.update(overrides)
    return TrainingConfig(**settings)
