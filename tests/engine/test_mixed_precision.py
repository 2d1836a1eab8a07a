"""The bf16 mixed-precision training path (CUDA's), exercised on CPU where torch's CPU autocast stands in.

Found on an H200: accelerate's mixed-precision wrapper returns fp32 hidden states while the model's head
stays bf16, so the loss projection must cast (bench/gpu_check.py).
"""
from __future__ import annotations

import json

from helpers import signature_rows, small_config
from peftstudio.engine.training import device
from peftstudio.engine.runs.events import Status
from peftstudio.engine.training.session import TrainingSession


def test_bf16_training_runs_through_the_mixed_precision_wrapper(tmp_path, monkeypatch):
    monkeypatch.setattr(device, "resolve_precision", lambda requested, where, bf16_ok: "bf16")
    dataset = tmp_path / "d.json"
    dataset.write_text(json.dumps(signature_rows(16)))
    session = TrainingSession.create(small_config(dataset, max_steps=2, validation_split=0.0, eval_strategy="no"))
    assert session.run() == Status.COMPLETED, session.error and session.error.render()
    assert session.summary["final_loss"] < session.summary["first_loss"] + 1.0
