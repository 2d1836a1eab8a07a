"""Real faults injected into real training runs of the demo model, and the anomaly/error properties."""
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import small_config
from peftstudio.engine.config import TrainingConfig
from peftstudio.engine.errors import PlainError, from_exception
from peftstudio.engine.quality import quality_report, reward_quality_report
from peftstudio.engine.training.anomalies import EXPLANATIONS, AnomalyDetector, make_anomaly, recovery_plan
from peftstudio.engine.runs.events import Status, read_events
from peftstudio.engine.training.loss_trainer import LossTokenTrainer
from peftstudio.engine.training.session import TrainingSession


def inject(monkeypatch, fault):
    """Wrap the real loss computation; `fault(trainer, inputs, loss)` may change the loss or raise."""
    real = LossTokenTrainer.compute_loss

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        examples = int(inputs["num_examples"]) if "num_examples" in inputs else None
        result = real(self, model, inputs, return_outputs, num_items_in_batch)
        if model.training:
            return fault(self, examples, result)
        return result

    monkeypatch.setattr(LossTokenTrainer, "compute_loss", compute_loss)


def events_of(session, kind):
    return [e for e in read_events(session.events.path) if e["type"] == kind]


def test_a_nan_loss_is_rolled_back_with_a_halved_learning_rate(alpaca_file, monkeypatch):
    fired = []

    def nan_at_step_5(trainer, examples, loss):
        if trainer.state.global_step == 4 and not fired:  # the 5th optimizer step
            fired.append(True)
            return loss * float("nan")
        return loss

    inject(monkeypatch, nan_at_step_5)
    session = TrainingSession.create(small_config(alpaca_file, max_steps=8, save_steps=2, learning_rate=1e-3))
    assert session.run() == Status.COMPLETED, session.error and session.error.render()
    [anomaly] = events_of(session, "anomaly")
    assert anomaly["anomaly_type"] == "loss_divergence" and anomaly["severity"] == "critical"
    assert anomaly["detected_step"] == 5 and 2 <= len(anomaly["actions"]) <= 3
    [recovery] = [e for e in events_of(session, "notification") if e.get("recovery")]
    assert "halved the learning rate" in recovery["message"]
    running = [e for e in events_of(session, "status") if e["status"] == "running"]
    assert running[-1]["resumed_from_step"] == 4  # the last good checkpoint
    assert session.config.learning_rate == 5e-4
    final = [e for e in events_of(session, "metrics") if not e["heartbeat"] and e["step"] == 8][-1]
    assert math.isfinite(final["loss"]) and final["learning_rate"] < 5e-4


def test_out_of_memory_halves_the_batch_and_keeps_the_effective_batch(alpaca_file, monkeypatch):
    def oom_above_two(trainer, examples, loss):
        if examples > 2:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return loss

    inject(monkeypatch, oom_above_two)
    session = TrainingSession.create(small_config(alpaca_file, max_steps=3, batch_size=4, gradient_accumulation=1))
    assert session.run() == Status.COMPLETED, session.error and session.error.render()
    assert (session.config.batch_size, session.config.gradient_accumulation) == (2, 2)
    assert session.config.effective_batch_size == 4 and session.config.gradient_checkpointing
    assert [e["anomaly_type"] for e in events_of(session, "anomaly")] == ["oom"]
    assert any("Halved the batch to 2" in e["message"] for e in events_of(session, "notification"))
    assert TrainingConfig.from_json((session.run_dir / "config.json").read_text()).batch_size == 2


def test_a_gradient_spike_turns_on_tighter_clipping(alpaca_file, monkeypatch):
    fired = []

    def spike_at_step_5(trainer, examples, loss):
        if trainer.state.global_step == 4 and not fired:
            fired.append(True)
            return loss + 1000.0 * (loss - loss.detach())  # same loss value, 1001x the gradient
        return loss

    inject(monkeypatch, spike_at_step_5)
    session = TrainingSession.create(small_config(alpaca_file, max_steps=7, save_steps=2, max_grad_norm=1.0,
                                                  learning_rate=5e-4))
    assert session.run() == Status.COMPLETED, session.error and session.error.render()
    kinds = [e["anomaly_type"] for e in events_of(session, "anomaly")]
    assert kinds[0] == "gradient_explosion"
    assert session.config.max_grad_norm == 0.5 and session.config.learning_rate == 2.5e-4
    assert session.summary["quality"]["score"] >= 0


def test_recoveries_are_bounded_and_end_in_a_plain_error(alpaca_file, monkeypatch):
    inject(monkeypatch, lambda trainer, examples, loss: loss * float("nan"))
    session = TrainingSession.create(small_config(alpaca_file, max_steps=4, save_steps=100))
    assert session.run() == Status.FAILED
    assert session.error.title == "Training could not recover on its own"
    assert len([e for e in events_of(session, "notification") if e.get("recovery")]) == 3


def test_a_completed_run_gets_a_quality_report(alpaca_file):
    session = TrainingSession.create(small_config(alpaca_file, max_steps=6, eval_steps=3, validation_split=0.2))
    assert session.run() == Status.COMPLETED
    quality = session.summary["quality"]
    assert quality["base_eval_loss"] > quality["final_eval_loss"]  # it learned the signature
    assert 0 <= quality["score"] <= 100 and set(quality["parts"]) == {"improvement", "perplexity", "overfitting",
                                                                      "generation"}
    assert quality["suggestions"] and 0 <= quality["repetition_rate"] <= 1


# **Feature: simplified-llm-optimization, Property 11: Anomaly detection provides explanations and actions**
@settings(max_examples=100, deadline=None)
@given(st.sampled_from(sorted(EXPLANATIONS)), st.integers(0, 10**6), st.text(max_size=30))
def test_every_anomaly_explains_itself_with_two_or_three_actions(kind, step, detail):
    anomaly = make_anomaly(kind, step, 0.0, detail)
    assert len(anomaly.message) > 60 and "Traceback" not in anomaly.message
    assert 2 <= len(anomaly.actions) <= 3 and all(a["label"] for a in anomaly.actions)
    assert anomaly.severity in ("low", "medium", "high", "critical")
    assert anomaly.auto_recoverable == any(a["automatic"] for a in anomaly.actions)


# **Feature: simplified-llm-optimization, Property 12: Memory threshold triggers batch size reduction**
@settings(max_examples=100, deadline=None)
@given(st.floats(0.0, 1.0), st.integers(1, 256), st.integers(1, 64))
def test_device_memory_above_ninety_percent_reduces_the_batch(fraction, batch, accumulation):
    total = 80 * 2**30
    found = AnomalyDetector().observe_metrics({"step": 3, "time": 0.0, "loss": 1.0, "gpu_memory_used":
                                               [int(fraction * total)], "gpu_memory_total": [total]})
    oom = [a for a in found if a.anomaly_type == "oom"]
    assert bool(oom) == (int(fraction * total) / total > 0.9)
    if oom:
        assert oom[0].auto_recoverable
        plan = recovery_plan("oom", TrainingConfig(batch_size=batch, gradient_accumulation=accumulation))
        if batch == 1:
            assert plan is None  # nothing left to halve: the run stops with a plain error instead
        else:
            config, _, note = plan
            assert config.batch_size == batch // 2 and config.gradient_accumulation == 2 * accumulation
            assert "same effective batch" in note


# **Feature: simplified-llm-optimization, Property 13: Training completion triggers quality analysis**
@settings(max_examples=100, deadline=None)
@given(st.none() | st.floats(0.1, 10), st.lists(st.floats(0.01, 10), max_size=6), st.none() | st.floats(0, 1))
def test_every_completed_run_gets_a_score_and_suggestions(base, evals, repetition):
    report = quality_report(base, evals, repetition)
    assert 0 <= report["score"] <= 100 and report["suggestions"]
    assert all(len(s) > 30 for s in report["suggestions"])


@settings(max_examples=100, deadline=None)
@given(st.floats(0, 1), st.floats(0, 1), st.floats(0, 1), st.floats(0.5, 3))
def test_a_run_taught_by_a_checker_is_scored_by_its_held_back_reward(base, tuned, passed, best):
    report = reward_quality_report({"mean_reward": base * best, "pass_rate": 0.0},
                                   {"mean_reward": tuned * best, "pass_rate": passed}, best)
    assert 0 <= report["score"] <= 100 and report["suggestions"]
    assert set(report["parts"]) == {"improvement", "level", "pass_rate"}
    rose = tuned * best > base * best
    if tuned - base >= 0.01:  # a rise the score (to 0.1) can show
        assert report["parts"]["improvement"] > 0
    if not rose:
        assert report["parts"]["improvement"] == 0
        assert "did not rise" in report["suggestions"][0]
    lower = reward_quality_report({"mean_reward": base * best, "pass_rate": 0.0},
                                  {"mean_reward": min(tuned, base) * best, "pass_rate": passed}, best)
    assert lower["score"] <= report["score"]  # a lower tuned reward never scores higher


def test_a_checker_run_without_held_back_prompts_says_how_to_measure_it():
    report = reward_quality_report({}, {}, 1.0)
    assert report["score"] == 0 and "held-back share" in report["suggestions"][0]


EXCEPTIONS = [ValueError("bad value at /usr/lib/python3/site-packages/x.py line 3"), KeyError("input_ids"),
              RuntimeError("CUDA error: device-side assert triggered"), OSError(28, "No space left on device"),
              MemoryError(), torch.cuda.OutOfMemoryError("CUDA out of memory"), TypeError("NoneType"),
              ZeroDivisionError("division by zero"), PermissionError(13, "Permission denied")]


# **Feature: simplified-llm-optimization, Property 19: Error messages are plain language**
# **Feature: simplified-llm-optimization, Property 20: Error handling provides actions**
# **Feature: simplified-llm-optimization, Property 21: Unresolvable errors include help links**
@settings(max_examples=100, deadline=None)
@given(st.sampled_from(EXCEPTIONS))
def test_any_error_is_plain_with_actions_and_a_help_link(tmp_path_factory, exc):
    try:
        raise exc
    except BaseException as raised:  # noqa: BLE001
        error = from_exception(raised, tmp_path_factory.mktemp("report"))
    shown = " ".join([error.title, error.what, error.why, *error.actions])
    assert "Traceback" not in shown and "site-packages" not in shown and ".py" not in shown
    assert type(exc).__name__ not in shown
    assert 2 <= len(error.actions) <= 3
    assert error.help_link.startswith("file://") and error.help_link.endswith(".md")
    assert __import__("pathlib").Path(error.help_link[len("file://"):]).exists()


def test_plain_errors_refuse_the_wrong_number_of_actions():
    with pytest.raises(ValueError):
        PlainError("t", "w", "y", ["a", "b", "c", "d"])


# ---- GRPO runs: reward collapse, KL blow-up, no learning signal ----------------------------------------------
def grpo_metrics(step, reward, kl=0.01, zero_spread=0.0, loss=0.0):
    return {"step": step, "time": float(step), "loss": loss, "reward": reward, "reward_std": 0.2, "kl": kl,
            "reward_zero_spread": zero_spread}


def kinds(detector, events):
    return [a.anomaly_type for e in events for a in detector.observe_metrics(e)]


def test_a_reward_that_falls_far_below_its_best_is_a_collapse_once():
    rising = [0.1, 0.3, 0.6, 0.7, 0.8, 0.75]
    falling = [0.3, 0.1, 0.05, 0.05]
    detector = AnomalyDetector()
    found = kinds(detector, [grpo_metrics(i + 1, r) for i, r in enumerate(rising + falling)])
    assert found == ["reward_collapse"]
    config = TrainingConfig(training_method="grpo", learning_rate=2e-5)
    new, factor, said = recovery_plan("reward_collapse", config)
    assert new.learning_rate == 1e-5 and factor == 0.5 and "halved" in said


def test_noisy_rewards_and_a_grpo_loss_near_zero_raise_nothing():
    noisy = [0.4, 0.55, 0.35, 0.5, 0.3, 0.45, 0.38, 0.52]
    losses = [0.0001, -0.02, 0.03, -0.001, 0.04, 0.0, 0.05, -0.03]  # a policy objective, not a fit to data
    detector = AnomalyDetector()
    assert kinds(detector, [grpo_metrics(i + 1, r, loss=l) for i, (r, l) in enumerate(zip(noisy, losses))]) == []
    assert kinds(detector, [grpo_metrics(9, 0.4, loss=float("nan"))]) == ["loss_divergence"]


def test_a_kl_jump_far_above_its_usual_is_a_blowup_and_recovery_holds_the_model_nearer():
    detector = AnomalyDetector()
    found = kinds(detector, [grpo_metrics(i + 1, 0.5, kl=k) for i, k in enumerate([0.01, 0.02, 0.015, 0.03, 2.5])])
    assert found == ["kl_blowup"]
    new, _, said = recovery_plan("kl_blowup", TrainingConfig(training_method="grpo", kl_beta=0.04))
    assert new.kl_beta == 0.08 and "KL beta" in said
    small = AnomalyDetector()  # a rise that is large in ratio but small in nats is not a blow-up
    assert kinds(small, [grpo_metrics(i + 1, 0.5, kl=k) for i, k in enumerate([0.001, 0.001, 0.001, 0.05])]) == []


def test_steps_where_every_answer_scores_the_same_are_said_once():
    detector = AnomalyDetector()
    found = kinds(detector, [grpo_metrics(i + 1, 0.0, zero_spread=1.0) for i in range(9)])
    assert found == ["no_learning_signal"]
    anomaly = make_anomaly("no_learning_signal", 5, 5.0)
    assert not anomaly.auto_recoverable and len(anomaly.actions) == 2


def test_steps_with_nothing_to_learn_do_not_make_the_first_real_update_an_explosion():
    detector = AnomalyDetector()  # a GRPO run: all answers to the first prompts scored alike, so no update at all
    quiet = [grpo_metrics(i + 1, 0.0, zero_spread=1.0) | {"grad_norm": n} for i, n in enumerate([0.0, 5e-4, 3e-4])]
    quiet.append(grpo_metrics(4, 0.0) | {"grad_norm": 0.0})
    assert kinds(detector, quiet + [grpo_metrics(5, 0.2) | {"grad_norm": 0.52}]) == []
    later = [grpo_metrics(6 + i, 0.3) | {"grad_norm": n} for i, n in enumerate([0.4, 0.6, 0.0, 9.0])]
    assert kinds(detector, later) == ["gradient_explosion"]  # a real jump against the real updates is still one
