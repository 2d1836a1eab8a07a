"""Real 2-process data-parallel training of the demo model on CPU (gloo), through the launcher the GUI uses."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from helpers import signature_rows, small_config
from peftstudio.engine.training import launcher
from peftstudio.engine.runs.events import Status, read_events
from peftstudio.engine.runs.folder import RunFolder
from peftstudio.engine.training.session import TrainingSession

AUDIT = Path(__file__).resolve().parent.parent / "audit_writes"
STEPS = 6


def _losses(run_dir: Path) -> list[float]:
    events = [e for e in read_events(run_dir / "events.jsonl") if e["type"] == "metrics" and not e.get("heartbeat")]
    by_step = {e["step"]: e["loss"] for e in events}
    return [by_step[s] for s in sorted(by_step)]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ddp") / "signature.json"
    path.write_text(json.dumps(signature_rows()), encoding="utf-8")
    return path


def _config(dataset, **overrides):
    # no dropout: its random masks differ between one process and two, and the losses must match
    settings = dict(max_steps=STEPS, batch_size=4, lora_dropout=0.0, save_steps=100, eval_strategy="no")
    settings.update(overrides)
    return small_config(dataset, **settings)


@pytest.fixture(scope="module")
def single_process_losses(dataset, tmp_path_factory):
    session = TrainingSession.create(_config(dataset), tmp_path_factory.mktemp("single") / "run")
    assert session.run() == Status.COMPLETED
    return _losses(session.run_dir)


def _launch(dataset, run_dir: Path, audit: Path, monkeypatch, **overrides):
    monkeypatch.setenv("PYTHONPATH", str(AUDIT))
    monkeypatch.setenv("PEFTSTUDIO_AUDIT_REPORT", str(audit))
    session = TrainingSession.create(_config(dataset, batch_size=2, num_processes=2, **overrides), run_dir)
    return launcher.start(session.run_dir, session.config)


def test_two_processes_match_one_and_only_rank_0_writes(dataset, single_process_losses, tmp_path, monkeypatch):
    audit = tmp_path / "audit"
    audit.mkdir()
    system_temp = tmp_path / "system-temp"  # what /tmp would be
    system_temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(system_temp))
    run = _launch(dataset, tmp_path / "run", audit, monkeypatch)
    seen = []
    assert run.wait(seen.append) == 0, (tmp_path / "run" / "launcher.log").read_text()[-3000:]
    # torch's elastic agent wrote its torchelastic_* folders into the launch's own temporary folder, now gone
    assert list(system_temp.iterdir()) == [] and run.scratch is not None and not run.scratch.exists()
    assert launcher.final_status(run.run_dir) == "completed"
    assert any(e["type"] == "metrics" for e in seen)  # followed while it ran

    # same effective batch (2 processes x 2 = 1 x 4) and seed: the same losses, step by step
    assert _losses(run.run_dir) == pytest.approx(single_process_losses, abs=1e-4)
    # every step is logged once, by rank 0 only
    steps = [e["step"] for e in read_events(run.run_dir / "events.jsonl")
             if e["type"] == "metrics" and not e.get("heartbeat")]
    assert steps == sorted(set(steps)) and len(steps) == STEPS

    # rank 1 wrote nothing of the run except its own RNG state inside the checkpoint folders (the Trainer
    # creates the folder with exist_ok on every rank before saving it)
    writes = json.loads((audit / "writes-rank1.json").read_text())
    in_run = [Path(w).relative_to(run.run_dir) for w in writes if w.startswith(str(run.run_dir))]
    assert in_run and all(p.parts[0] == "checkpoints" and p.parts[1].startswith("checkpoint-")
                          and p.parts[2:] in ((), ("rng_state_1.pth",)) for p in in_run), in_run
    assert (run.run_dir / "adapter" / "adapter_model.safetensors").exists()

    # reproducible outside the app: accelerate's config and the exact command are in the run folder
    config_text = RunFolder(run.run_dir).accelerate_config_file.read_text()
    assert "num_processes: 2" in config_text and "distributed_type: MULTI_GPU" in config_text
    script = RunFolder(run.run_dir).launch_script.read_text()
    assert f"--resume {run.run_dir}" in script and "--num_machines 2" in script and "--main_process_ip" in script


def test_pause_and_resume_across_both_ranks(dataset, single_process_losses, tmp_path, monkeypatch):
    audit = tmp_path / "audit"
    audit.mkdir()
    run = _launch(dataset, tmp_path / "run", audit, monkeypatch)

    def pause_at_step_2(event):
        if event["type"] == "metrics" and event.get("step", 0) >= 2:
            run.pause()

    assert run.wait(pause_at_step_2) == 0, (tmp_path / "run" / "launcher.log").read_text()[-3000:]
    assert launcher.final_status(run.run_dir) == "paused"
    checkpoints = sorted((run.run_dir / "checkpoints").glob("checkpoint-*"))
    assert checkpoints and {"rng_state_0.pth", "rng_state_1.pth", "peftstudio-checkpoint.json"} <= {
        p.name for p in checkpoints[-1].iterdir()}
    paused_at = int(checkpoints[-1].name.split("-")[1])
    assert 2 <= paused_at < STEPS

    resumed = launcher.start(run.run_dir, TrainingSession.open(run.run_dir).config)
    started = time.time()
    assert resumed.wait(lambda e: None) == 0 and time.time() - started < 600
    assert launcher.final_status(run.run_dir) == "completed"
    # the resumed run continues exactly where the uninterrupted one would be
    assert _losses(run.run_dir) == pytest.approx(single_process_losses, abs=1e-4)


def test_cluster_command_and_sharded_configs(tmp_path):
    import yaml

    from peftstudio.engine.config import TrainingConfig

    plan = launcher.LaunchPlan(num_processes=8, strategy="zero3", num_machines=4, main_process_ip="10.0.0.1")
    command = launcher.cluster_command(tmp_path / "run", plan)
    assert command.startswith("accelerate launch --config_file ")
    for part in ("--num_machines 4", "--machine_rank $MACHINE_RANK", "--num_processes 32",
                 "--main_process_ip 10.0.0.1", f"-m peftstudio train --resume {tmp_path / 'run'}"):
        assert part in command
    for strategy, kind in (("ddp", "MULTI_GPU"), ("fsdp", "FSDP"), ("zero2", "DEEPSPEED"), ("zero3", "DEEPSPEED")):
        folder = tmp_path / strategy
        folder.mkdir()
        config = TrainingConfig(num_processes=2, distributed_strategy=strategy, gradient_accumulation=3)
        argv = launcher.write_launch_files(folder, config)
        written = yaml.safe_load(RunFolder(folder).accelerate_config_file.read_text())
        assert written["distributed_type"] == kind and written["num_processes"] == 2
        if strategy.startswith("zero"):
            assert written["deepspeed_config"]["zero_stage"] == int(strategy[-1])
            assert written["deepspeed_config"]["gradient_accumulation_steps"] == 3
        assert argv[-3:] == ["train", "--resume", str(folder)]
