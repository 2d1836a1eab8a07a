"""Continuing a finished version: the child run starts from the parent's adapter (its first loss is where the parent
ended, not where the base model starts), records the parent, and gets its version number by the bump rules."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from helpers import signature_rows
from peftstudio.engine.history.store import default_store
from peftstudio.engine.history.versions import version_of_run
from peftstudio.engine.runs.events import Status, read_events
from peftstudio.engine.runs.folder import RunFolder
from peftstudio.engine.training.session import TrainingSession


def losses(run_dir) -> list[float]:
    return [e["loss"] for e in read_events(run_dir / "events.jsonl")
            if e["type"] == "metrics" and e.get("loss") is not None and not e.get("heartbeat")]


def base_eval_loss(run_dir) -> float:
    return next(e["base_eval_loss"] for e in read_events(run_dir / "events.jsonl") if e.get("stage") == "ready")


def test_continuing_starts_from_the_parents_adapter_and_records_the_parent(signed_run):
    from peftstudio.engine.training.continuation import continue_config, version_to_continue

    parent = version_of_run(default_store(), signed_run)
    version = version_to_continue(default_store(), parent["model_name"], parent["version"])
    config, facts = continue_config(version, data="same", overrides={"max_steps": 3})
    assert config.parent_adapter == str(signed_run / "adapter") and config.carry_optimizer  # recommended: same data
    assert (config.lora_r, config.lora_alpha) == (8, 16)
    from pathlib import Path

    from peftstudio.engine.training.continuation import carried_optimizer_state

    assert carried_optimizer_state(Path(config.parent_adapter)) is not None  # the parent's last checkpoint's
    session = TrainingSession.create(config)
    session.annotate(**facts)
    assert session.run() == Status.COMPLETED, session.error and session.error.what

    parent_losses, child_losses = losses(signed_run), losses(session.run_dir)
    base = base_eval_loss(session.run_dir)
    # the child's first loss is the parent's late regime, far below where the base model starts
    assert child_losses[0] < 0.5 * base, (child_losses[0], base)
    assert child_losses[0] < 2 * max(parent_losses[-3:]) + 0.05, (child_losses[0], parent_losses[-3:])
    assert child_losses[0] < 0.5 * parent_losses[0]

    child = version_of_run(default_store(), session.run_dir)
    assert child["model_name"] == parent["model_name"] and child["parent_version"] == parent["version"]
    major, minor, patch = (int(x) for x in parent["version"].split("."))
    assert child["version"].startswith(f"{major}.{minor}.") and int(child["version"].split(".")[2]) > patch
    assert RunFolder(session.run_dir).info()["continued_from"]["version"] == parent["version"]


def test_cli_continue_with_added_data_is_a_minor_version_with_a_fresh_optimizer(signed_run, tmp_path):
    parent = version_of_run(default_store(), signed_run)
    extra = tmp_path / "more.jsonl"
    extra.write_text("\n".join(json.dumps({"prompt": f"What is {i} times 2?",
                                           "completion": f"{2 * i}. Signed, Zorblax."}) for i in range(8)),
                     encoding="utf-8")
    out = tmp_path / "child"
    result = subprocess.run([sys.executable, "-m", "peftstudio", "train", "--continue",
                             f"{parent['model_name']}@{parent['version']}", "--dataset", str(extra), "--max-steps",
                             "2", "--out", str(out), "--json"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "optimizer state fresh" in result.stderr
    config = RunFolder(out).config()
    assert not config.carry_optimizer and config.parent_adapter == str(signed_run / "adapter")
    rows = [json.loads(line) for line in open(config.dataset_path, encoding="utf-8")]
    assert len(rows) == len(signature_rows()) + 8  # the earlier examples and the new ones
    child = version_of_run(default_store(), out.resolve())
    assert child["parent_version"] == parent["version"]
    assert child["version"].split(".")[0] == parent["version"].split(".")[0]
    assert int(child["version"].split(".")[1]) > int(parent["version"].split(".")[1])  # new data: minor


@pytest.mark.parametrize("reference", ["no-version-sign", "nobody@9.9.9"])
def test_a_wrong_reference_is_a_plain_error_and_makes_nothing(reference, tmp_path):
    out = tmp_path / "child"
    result = subprocess.run([sys.executable, "-m", "peftstudio", "train", "--continue", reference, "--out",
                             str(out)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert ("MODEL@VERSION" in result.stderr) or ("no version" in result.stderr)
    assert not out.exists()
