import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import small_config
from peftstudio.engine.errors import PlainError
from peftstudio.engine.runs.checkpoints import COMPLETE_MARKER, complete_checkpoints
from peftstudio.engine.training.device import bitsandbytes_config, check_quantization, resolve_precision
from peftstudio.engine.runs.events import TRANSITIONS, Status, can_transition, read_events
from peftstudio.engine.training.session import TrainingSession

METRIC_FIELDS = {"step", "max_steps", "epoch", "loss", "learning_rate", "grad_norm", "tokens_per_second",
                 "samples_per_second", "train_tokens", "cpu_percent", "ram_used", "process_rss", "time", "type"}


def step_losses(session):
    return {e["step"]: e["loss"] for e in read_events(session.events.path)
            if e["type"] == "metrics" and not e["heartbeat"]}


@pytest.fixture(scope="module")
def completed_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data")
    dataset = folder / "signature.json"
    from helpers import signature_rows

    dataset.write_text(json.dumps(signature_rows()), encoding="utf-8")
    session = TrainingSession.create(small_config(dataset, max_steps=8, save_steps=2, save_total=2, eval_steps=4,
                                                  lora_dropout=0.1))
    assert session.run() == Status.COMPLETED, session.error and session.error.render()
    return session, dataset


def test_a_real_lora_run_learns(completed_run):
    session, _ = completed_run
    losses = step_losses(session)
    assert sorted(losses) == list(range(1, 9))
    assert losses[8] < 0.5 * losses[1]
    assert session.summary["final_loss"] == losses[8]
    assert (session.adapter_dir / "adapter_model.safetensors").exists()
    assert (session.adapter_dir / "adapter_config.json").exists()


def test_events_follow_the_contract(completed_run):
    session, _ = completed_run
    events = read_events(session.events.path)
    assert all("type" in e and "time" in e for e in events)
    statuses = [e["status"] for e in events if e["type"] == "status"]
    assert statuses == ["created", "initializing", "running", "completed"]
    metrics = [e for e in events if e["type"] == "metrics" and not e["heartbeat"]]
    assert all(METRIC_FIELDS <= set(m) for m in metrics)
    assert all(m["tokens_per_second"] > 0 and m["train_tokens"] > 0 for m in metrics)
    assert [m["train_tokens"] for m in metrics] == sorted(m["train_tokens"] for m in metrics)
    evals = [e for e in events if e["type"] == "eval"]
    assert evals and all(e["perplexity"] > 1 for e in evals)
    [ready] = [e for e in events if e.get("stage") == "ready"]
    assert ready["packing"] == "per example"  # padding-free rows, attention inside each example (segments.py)
    assert session.summary["final_eval_loss"] == evals[-1]["eval_loss"]
    [version] = [e for e in events if e["type"] == "version"]  # every completed run becomes a version
    assert version["model_name"] == "signature" and version["version"].count(".") == 2
    assert session.summary["version"] == f"signature v{version['version']}"


def test_checkpoints_follow_save_steps_and_save_total(completed_run):
    session, _ = completed_run
    kept = complete_checkpoints(session.checkpoints_dir)
    assert [p.name for p in kept] == ["checkpoint-6", "checkpoint-8"]
    saved = [e["step"] for e in read_events(session.events.path) if e["type"] == "checkpoint"]
    assert saved == [2, 4, 6, 8]


# **Feature: simplified-llm-optimization, Property 27: Pause saves checkpoint**
# **Feature: simplified-llm-optimization, Property 28: Pause/resume round-trip preserves state**
def test_pause_and_resume_continue_exactly(completed_run):
    reference, dataset = completed_run
    config = small_config(dataset, max_steps=8, save_steps=100, save_total=2, eval_steps=4, lora_dropout=0.1)
    session = TrainingSession.create(config)

    def pause_at_three(event):
        if event["type"] == "metrics" and event.get("step") == 3 and not event["heartbeat"]:
            session.pause()

    session.events.listeners.append(pause_at_three)
    assert session.run() == Status.PAUSED
    [checkpoint] = complete_checkpoints(session.checkpoints_dir)
    assert checkpoint.name == "checkpoint-3"
    for part in ("adapter_model.safetensors", "optimizer.pt", "scheduler.pt", "rng_state.pth", "trainer_state.json"):
        assert (checkpoint / part).exists(), part
    marker = json.loads((checkpoint / COMPLETE_MARKER).read_text())
    assert marker["step"] == 3 and marker["metrics"]["loss"] == step_losses(session)[3]

    session.events.listeners.remove(pause_at_three)
    assert session.run() == Status.COMPLETED
    expected, resumed = step_losses(reference), step_losses(session)
    for step in range(1, 9):
        assert abs(expected[step] - resumed[step]) < 1e-5, (step, expected[step], resumed[step])
    statuses = [e["status"] for e in read_events(session.events.path) if e["type"] == "status"]
    assert statuses == ["created", "initializing", "running", "paused", "initializing", "running", "completed"]


def test_stop_keeps_a_resumable_checkpoint(alpaca_file):
    session = TrainingSession.create(small_config(alpaca_file, max_steps=4, save_steps=100))
    session.events.listeners.append(lambda e: e["type"] == "metrics" and e.get("step") == 1 and session.stop())
    assert session.run() == Status.STOPPED
    assert [p.name for p in complete_checkpoints(session.checkpoints_dir)] == ["checkpoint-1"]
    reopened = TrainingSession.open(session.run_dir)
    assert reopened.status == Status.STOPPED
    assert reopened.run() == Status.COMPLETED
    assert sorted(step_losses(reopened)) == [1, 2, 3, 4]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(list(Status)), max_size=8))
def test_state_machine_allows_only_the_seed_transitions(sequence):
    state = Status.CREATED
    for new in sequence:
        allowed = new in TRANSITIONS[state]
        assert can_transition(state, new) == allowed
        if allowed:
            state = new
    assert not can_transition(Status.COMPLETED, Status.RUNNING)
    assert not can_transition(Status.CREATED, Status.RUNNING)


def test_qlora_on_cpu_fails_with_a_plain_message(alpaca_file):
    session = TrainingSession.create(small_config(alpaca_file, peft_method="qlora", quantization="4bit"))
    assert session.run() == Status.FAILED
    assert session.error.title == "QLoRA needs an NVIDIA GPU"
    error_events = [e for e in read_events(session.events.path) if e["type"] == "error"]
    assert error_events[0]["title"] == "QLoRA needs an NVIDIA GPU"
    assert not list(session.checkpoints_dir.glob("*"))


def test_device_decisions():
    assert resolve_precision("auto", "cpu", False) == "fp32"
    assert resolve_precision("auto", "cuda", True) == "bf16"
    assert resolve_precision("auto", "cuda", False) == "fp16"
    with pytest.raises(PlainError):
        resolve_precision("bf16", "cuda", False)
    with pytest.raises(PlainError):
        resolve_precision("fp16", "cpu", False)
    from peftstudio.engine.config import TrainingConfig

    qlora = TrainingConfig(peft_method="qlora", quantization="4bit")
    check_quantization(qlora, "cuda")  # allowed on CUDA
    with pytest.raises(PlainError):
        check_quantization(qlora, "mps")
    bnb = bitsandbytes_config(qlora, "bf16")
    assert bnb.load_in_4bit and bnb.bnb_4bit_quant_type == "nf4" and bnb.bnb_4bit_use_double_quant
    import torch

    assert bnb.bnb_4bit_compute_dtype == torch.bfloat16
    assert bitsandbytes_config(TrainingConfig(quantization="8bit"), "fp16").load_in_8bit
    assert bitsandbytes_config(TrainingConfig(), "fp32") is None


def test_too_little_data_caps_the_quality_score_and_says_so():
    """Journey finding 6: 57 examples for a 500-example use case is never 'Looks healthy'."""
    from peftstudio.engine.quality import SMALL_DATA_CAP, quality_report

    healthy = quality_report(2.0, [1.2, 1.1], 0.0)
    assert healthy["score"] > SMALL_DATA_CAP and healthy["verdict"] == "Good"
    small = quality_report(2.0, [1.2, 1.1], 0.0, train_examples=57, recommended_examples=500)
    assert small["score"] == SMALL_DATA_CAP and small["verdict"] == "Too little data to trust"
    assert small["suggestions"][0].startswith("Only 57 training examples")
    assert not any("Looks healthy" in text for text in small["suggestions"])
