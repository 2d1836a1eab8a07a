"""The dashboard on real training runs of the demo model, through the real QThread worker."""
import json
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import signature_rows, small_config
from peftstudio.engine.monitoring import (ACCEPTABLE, GOOD, PROBLEMATIC, MilestoneTracker, error_notification,
                                          loss_zone, zone_bounds)
from peftstudio.engine.runs.events import Status
from peftstudio.engine.training.session import TrainingSession
from peftstudio.ui.dashboard import DashboardWidget
from peftstudio.ui.worker import TrainingWorker


def start(qtbot, tmp_path, **overrides):
    dataset = tmp_path / "d.json"
    dataset.write_text(json.dumps(signature_rows()))
    session = TrainingSession.create(small_config(dataset, **overrides))
    worker = TrainingWorker(session)
    dashboard = DashboardWidget(worker)
    qtbot.addWidget(dashboard)
    dashboard.show()
    return session, worker, dashboard


# **Feature: simplified-llm-optimization, Property 25: Progress milestone notifications**
def test_a_real_run_updates_plots_progress_and_milestones(qtbot, tmp_path):
    session, worker, dashboard = start(qtbot, tmp_path, max_steps=4, eval_steps=2)
    with qtbot.waitSignal(worker.completed, timeout=300_000):
        worker.start()
    qtbot.waitUntil(lambda: dashboard.series.status == "completed", timeout=10_000)
    worker.wait()
    xs, ys = dashboard.loss_curve.getData()
    assert list(xs) == [1, 2, 3, 4] and ys[-1] < ys[0]
    assert dashboard.progress.value() == dashboard.progress.maximum() == 4
    assert len(dashboard.series.eval_loss) >= 2 and dashboard.eval_curve.getData()[0] is not None
    assert [note["title"] for note in dashboard.notifier.sent] == [f"PEFT Studio: {m}%" for m in (25, 50, 75, 100)]
    assert dashboard.alerts.count() == 4
    assert [z for z, _ in dashboard.zone_items] == [GOOD, ACCEPTABLE, PROBLEMATIC]
    assert dashboard.current_zone() == GOOD
    # the run says it finished, with its quality score and what to do next (journey finding 3)
    assert dashboard.status.text().startswith("Finished · step 4/4")
    assert dashboard.outcome.isVisible() and "Quality:" in dashboard.outcome.text()
    assert "Only 32 training examples" not in dashboard.outcome.text()  # no use case chosen: no minimum known

    history = DashboardWidget()  # a finished run opened from its folder shows the same curves and outcome
    qtbot.addWidget(history)
    history.load_run(session.run_dir)
    assert list(history.loss_curve.getData()[1]) == list(ys) and history.notifier.sent == []
    assert not history.pause_button.isEnabled()
    assert history.status.text().startswith("Finished") and "Quality:" in history.outcome.text()


def test_every_wait_before_the_first_step_says_what_is_happening(qtbot, tmp_path):
    """Journey finding 5: stage messages replace 'waiting' until the first step, then the ETA is measured."""
    session, worker, dashboard = start(qtbot, tmp_path, max_steps=2)
    seen = []
    worker.event.connect(lambda event: seen.append(dashboard.status.text()))
    with qtbot.waitSignal(worker.completed, timeout=300_000):
        worker.start()
    worker.wait()
    stages = [text for text in seen if text.endswith("...")]
    assert any("Reading and tokenizing your examples" in t for t in stages)
    assert any("Loading the model into memory" in t for t in stages)
    assert any("Training the first step" in t for t in stages)
    assert "waiting" not in " ".join(seen)


# **Feature: simplified-llm-optimization, Property 29: Paused run displays complete information**
def test_pause_resume_and_stop_through_the_buttons(qtbot, tmp_path):
    session, worker, dashboard = start(qtbot, tmp_path, max_steps=6, save_steps=100)
    worker.start()
    qtbot.waitUntil(lambda: len(dashboard.series.steps) >= 1, timeout=300_000)
    qtbot.waitUntil(dashboard.pause_button.isEnabled, timeout=5_000)
    dashboard.pause_button.click()
    # journey finding 4: while the step finishes the header keeps saying so, and Pause is not clickable twice
    assert not dashboard.pause_button.isEnabled() and dashboard.status.text().startswith("Pausing after this step")
    dashboard.add_event({"type": "metrics", "heartbeat": True, "step": 1, "max_steps": 6, "epoch": 0.1,
                         "elapsed_seconds": 5.0, "eta_seconds": 25.0})
    assert dashboard.status.text().startswith("Pausing after this step")
    qtbot.waitUntil(lambda: dashboard.series.status == "paused", timeout=120_000)
    worker.wait()
    assert session.status == Status.PAUSED
    assert dashboard.status.text().startswith("Paused · step")
    text = dashboard.paused_label.text()
    assert "Paused at step" in text and "trained for" in text and "left" in text and "CPU" in text
    info = dashboard.series.paused_at
    assert info["elapsed_seconds"] > 0 and info["remaining_seconds"] is not None and info["process_rss"] > 0
    paused_step = info["step"]

    dashboard.resume_button.click()
    qtbot.waitUntil(lambda: dashboard.series.status == "running", timeout=120_000)
    qtbot.waitUntil(lambda: dashboard.series.steps[-1] > paused_step, timeout=300_000)
    dashboard.confirm_stop(ask=False)
    qtbot.waitUntil(lambda: dashboard.series.status == "stopped", timeout=120_000)
    worker.wait()
    assert session.status == Status.STOPPED and dashboard.resume_button.isEnabled()


# **Feature: simplified-llm-optimization, Property 26: Training error triggers notification**
def test_a_training_error_sends_an_urgent_notification(qtbot, tmp_path, monkeypatch):
    session, worker, dashboard = start(qtbot, tmp_path, peft_method="qlora", quantization="4bit")
    with qtbot.waitSignal(worker.failed, timeout=120_000):
        worker.start()
    worker.wait()
    qtbot.waitUntil(lambda: any(n["urgent"] for n in dashboard.notifier.sent), timeout=5_000)
    urgent = [n for n in dashboard.notifier.sent if n["urgent"]]
    assert len(urgent) == 1 and urgent[0]["title"] == "Training stopped: QLoRA needs an NVIDIA GPU"
    assert "no NVIDIA GPU" in urgent[0]["message"]
    assert dashboard.help_link.endswith("help/qlora.md")
    toast = dashboard.toasts.itemAt(dashboard.toasts.count() - 1).widget()
    next(b for b in toast.buttons if b.text() == "Get help").click()
    assert dashboard.help_window.current_topic == "qlora"  # the help page inside the app: no browser needed


@settings(max_examples=100, deadline=None)
@given(st.fixed_dictionaries({"title": st.text(min_size=1, max_size=40), "what": st.text(max_size=80)}))
def test_every_error_becomes_an_urgent_notification_with_its_summary(error):
    note = error_notification(error)
    assert note["urgent"] and error["title"] in note["title"] and note["message"] == error["what"]


# **Feature: simplified-llm-optimization, Property 9: Loss curve color coding**
@settings(max_examples=100, deadline=None)
@given(st.floats(0.01, 100), st.one_of(st.floats(0, 1000), st.just(math.nan), st.just(math.inf)))
def test_every_loss_value_gets_the_zone_of_its_band(start_loss, loss):
    zone = loss_zone(loss, start_loss)
    if not math.isfinite(loss):
        assert zone == PROBLEMATIC
        return
    low, high = zone_bounds(start_loss)[zone]
    assert low <= loss <= high or (zone == GOOD and loss <= start_loss)
    assert zone == (GOOD if loss <= start_loss else ACCEPTABLE if loss <= 1.5 * start_loss else PROBLEMATIC)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 10_000), st.lists(st.integers(0, 10_000), max_size=30))
def test_each_milestone_is_reported_once_in_order(max_steps, steps):
    tracker, seen = MilestoneTracker(), []
    for step in sorted(steps):
        seen += tracker.update(min(step, max_steps), max_steps)
    assert seen == sorted(set(seen)) and all(m in (25, 50, 75, 100) for m in seen)
    top = 100 * min(max(steps, default=0), max_steps) / max_steps
    assert seen == [m for m in (25, 50, 75, 100) if top >= m]


def test_plots_stay_responsive_with_100000_points(qtbot):
    dashboard = DashboardWidget()
    qtbot.addWidget(dashboard)
    for step in range(1, 100_001):
        dashboard.series.add({"type": "metrics", "step": step, "loss": 2.0 / step ** 0.1, "learning_rate": 1e-4,
                              "tokens_per_second": 100.0, "max_steps": 100_000})
    dashboard._metrics({"type": "metrics", "step": 100_000, "max_steps": 100_000}, replay=True)
    assert dashboard.loss_curve.opts["autoDownsample"] and dashboard.loss_curve.opts["clipToView"]
    assert len(dashboard.loss_curve.getData()[0]) == 100_000


def test_an_anomaly_shows_a_toast_whose_buttons_act(qtbot, tmp_path):
    session, worker, dashboard = start(qtbot, tmp_path, max_steps=40, save_steps=100)
    worker.start()
    qtbot.waitUntil(lambda: dashboard.series.status == "running" and len(dashboard.series.steps) > 0, timeout=300_000)
    toast = dashboard.show_anomaly({"type": "anomaly", "anomaly_type": "overfitting", "severity": "medium",
                                    "message": "Validation loss is rising while training loss falls.",
                                    "actions": [{"id": "stop", "label": "Stop at the best checkpoint"},
                                                {"id": "pause", "label": "Pause to think"}]})
    assert [b.text() for b in toast.buttons] == ["Stop at the best checkpoint", "Pause to think", "Dismiss"]
    assert dashboard.notifier.sent[-1]["title"] == "Training problem: overfitting"
    toast.buttons[1].click()  # Pause
    qtbot.waitUntil(lambda: dashboard.series.status == "paused", timeout=120_000)
    worker.wait()
    assert session.status == Status.PAUSED
    ring = dashboard.ring
    assert ring.lines[0].endswith("%") and ring.lines[1].startswith("epoch") and dashboard.steps_curve.getData()[0] is not None


def test_a_rollback_redraws_the_curve_from_the_checkpoint():
    from peftstudio.engine.monitoring import series_from_events

    events = [{"type": "metrics", "step": s, "loss": 1.0 / s} for s in range(1, 6)]
    events += [{"type": "status", "status": "running", "resumed_from_step": 2}]
    events += [{"type": "metrics", "step": s, "loss": 0.5 / s} for s in range(3, 6)]
    series = series_from_events(events)
    assert series.steps == [1, 2, 3, 4, 5] and series.loss[2:] == [0.5 / 3, 0.5 / 4, 0.5 / 5]


def test_meters_show_every_gpu():
    from peftstudio.ui.dashboard import per_gpu_text

    text = per_gpu_text({"gpu_memory_used": [2**30, 3 * 2**30], "gpu_memory_total": [8 * 2**30, 8 * 2**30],
                         "gpu_utilization": [40, 90], "gpu_temperature": [55, 71]})
    assert text.splitlines() == ["GPU 0: 40% · 1.0/8 GB · 55 °C", "GPU 1: 90% · 3.0/8 GB · 71 °C"]
    assert per_gpu_text({}) == "no GPU"


def test_a_slow_run_says_why_and_re_estimates(qtbot):
    """Journey finding 7: projected time far above the plan is said, with the CPU taken by other programs."""
    dashboard = DashboardWidget()
    qtbot.addWidget(dashboard)
    dashboard.set_plan(180.0)
    dashboard.add_event({"type": "status", "status": "running"})
    metrics = {"type": "metrics", "step": 4, "max_steps": 24, "epoch": 0.5, "loss": 2.0, "elapsed_seconds": 250.0,
               "eta_seconds": 1250.0, "cpu_percent": 95.0, "process_cpu_percent": 45.0}
    dashboard.add_event(metrics)
    text = dashboard.pace.text()
    assert text.startswith("Slower than planned: about 25 min in all instead of 3 min"), text
    assert "other programs are using about 50% of the CPU" in text and "New estimate" in text
    dashboard.add_event(dict(metrics, step=5, elapsed_seconds=60.0, eta_seconds=100.0))
    assert dashboard.pace.text() == ""  # back on plan: nothing to say


def test_a_finished_run_is_scored_from_its_dashboard_with_progress_and_cancel(qtbot, signed_run):
    """Issue 20: the scorecard runs off the UI thread, can be cancelled, and is shown again when reopened."""
    dashboard = DashboardWidget(notifications_enabled=False)
    qtbot.addWidget(dashboard)
    dashboard.load_run(signed_run)
    panel = dashboard.scores
    assert panel.score_button.isVisibleTo(dashboard)
    before = panel.card  # another test may have scored this shared run already
    panel.start(skills_limit=10)
    panel.cancel()
    qtbot.waitUntil(lambda: not panel.running, timeout=600_000)
    assert panel.card is before and "cancelled" in panel.progress.text()
    panel.start(skills_limit=10)
    assert panel.progress.text().startswith("Scoring")
    qtbot.waitUntil(lambda: panel.card is not before, timeout=600_000)
    text = dashboard.outcome.text()
    assert "Scorecard" in text and "Your task" in text and "General skills" in text
    reopened = DashboardWidget(notifications_enabled=False)
    qtbot.addWidget(reopened)
    reopened.load_run(signed_run)
    assert "Scorecard" in reopened.outcome.text()


def test_the_judges_verdicts_can_be_read(qtbot):
    dashboard = DashboardWidget(notifications_enabled=False)
    qtbot.addWidget(dashboard)
    card = {"task": {}, "suggestions": [], "judge": {"judge": "a server", "win_rate": 0.75, "interval": [0.3, 0.95],
                                                     "judgments": 2, "verdicts": [
        {"prompt": "<b>hi</b>", "tuned_shown_as": "A", "reply": "A", "winner": "tuned"},
        {"prompt": "<b>hi</b>", "tuned_shown_as": "B", "reply": "T", "winner": "tie"}]}}
    dashboard.scores.show_card(card)
    assert dashboard.scores.verdicts_button.isVisibleTo(dashboard)
    dialog = dashboard.scores.show_verdicts()
    qtbot.addWidget(dialog)
    text = dialog.layout().itemAt(0).widget().toPlainText()
    assert "<b>hi</b>" in text and "shown as B -> tie" in text
    assert "Judge (a server): fine-tuned wins 75%" in dashboard.outcome.text()


def test_a_preference_run_shows_its_reward_margin_and_accuracy(qtbot, tmp_path, demo_folder):
    from helpers import small_config, tiny_llama_folder
    from peftstudio.engine.runs import Status
    from peftstudio.engine.training import TrainingSession

    rows = [{"prompt": f"What is {i} plus {i}?", "chosen": f"{2 * i}. Cheers!", "rejected": f"{2 * i}."}
            for i in range(16)]
    data = tmp_path / "pairs.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    tiny = tiny_llama_folder(tmp_path / "tiny", demo_folder)
    session = TrainingSession.create(small_config(data, model_path=str(tiny), max_steps=3, training_method="dpo",
                                                  eval_strategy="no"))
    assert session.run() == Status.COMPLETED, session.error and session.error.what
    dashboard = DashboardWidget(notifications_enabled=False)
    qtbot.addWidget(dashboard)
    dashboard.load_run(session.run_dir)
    assert not dashboard.preference_plot.isHidden()
    steps, margins = dashboard.margin_curve.getData()
    assert list(steps) == [1, 2, 3] and len(margins) == 3
    assert all(0.0 <= a <= 1.0 for a in dashboard.accuracy_curve.getData()[1])
