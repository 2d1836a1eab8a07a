"""The live training dashboard: curves over colored loss zones, meters, progress, controls, notifications.

It consumes events (from the TrainingWorker's signals, or a past run's events.jsonl) and never
waits on training. Pause, resume and stop go through the engine's own controls.
"""
from __future__ import annotations

from html import escape
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from peftstudio.engine.monitoring import (
    ACCEPTABLE_FACTOR,
    MilestoneTracker,
    RunSeries,
    error_notification,
    loss_zone,
    milestone_message,
)
from peftstudio.engine.planning import format_duration
from peftstudio.engine.runs import read_run_info, run_events
from peftstudio.ui.notifications import Notifier
from peftstudio.ui.plots import curve, plot_widget
from peftstudio.ui.progress_ring import ProgressRing
from peftstudio.ui.reward_plots import RewardPlots
from peftstudio.ui.scorecard_panel import ScorecardPanel
from peftstudio.ui.sweep_note import SweepNote
from peftstudio.ui.toast import Toast

ZONE_COLORS = {"good": (40, 160, 80, 40), "acceptable": (230, 180, 30, 40), "problematic": (210, 50, 50, 40)}


def per_gpu_text(event: dict) -> str:
    """One line per GPU: utilization, memory and temperature (the bars above show the busiest GPU)."""
    used, total = event.get("gpu_memory_used") or [], event.get("gpu_memory_total") or []
    if not used:
        return "no GPU"
    utilization = event.get("gpu_utilization") or [None] * len(used)
    temperature = event.get("gpu_temperature") or [None] * len(used)
    return "\n".join(f"GPU {i}: {u if u is not None else '?'}% · {m / 2**30:.1f}/{t / 2**30:.0f} GB · "
                     f"{c if c is not None else '?'} °C"
                     for i, (u, m, t, c) in enumerate(zip(utilization, used, total, temperature)))


class DashboardWidget(QWidget):
    def __init__(self, worker=None, notifications_enabled: bool = True, parent=None, evaluate_after_run: bool = False):
        super().__init__(parent)
        self.setObjectName("dashboard")
        self.worker = worker
        self.evaluate_after_run = evaluate_after_run
        self.run_dir: Path | None = getattr(getattr(worker, "session", None), "run_dir", None)
        self.series = RunSeries()
        self.milestones = MilestoneTracker()
        self.zone_items = []
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self.ring = ProgressRing()
        top.addWidget(self.ring)
        self.progress = QProgressBar()
        self.progress.setObjectName("dashboard.progress")
        self.progress.setFormat("%p%")
        self.progress.setVisible(False)  # the ring shows progress; the bar keeps its value for tests and a11y
        self.status = QLabel("Starting...")
        self.status.setObjectName("dashboard.status")
        self.status.setTextFormat(Qt.PlainText)  # stage messages name the user's model and files
        self.status.setWordWrap(True)
        self.pausing = False  # a pause was asked for and the current step is still finishing
        self.planned_seconds: float | None = None
        top.addWidget(self.status, 3)
        self.pause_button = QPushButton("Pause (Ctrl+P)")
        self.pause_button.setObjectName("dashboard.pause")
        self.resume_button = QPushButton("Resume (Ctrl+R)")
        self.resume_button.setObjectName("dashboard.resume")
        self.stop_button = QPushButton("Stop (Ctrl+.)")
        self.stop_button.setObjectName("dashboard.stop")
        for button, slot in ((self.pause_button, self.pause), (self.resume_button, self.resume),
                             (self.stop_button, self.confirm_stop)):
            button.clicked.connect(slot)
            top.addWidget(button)
        for keys, slot in (("Ctrl+P", self.pause), ("Ctrl+R", self.resume), ("Ctrl+.", self.confirm_stop)):
            QShortcut(QKeySequence(keys), self, activated=slot)
        layout.addLayout(top)
        self.sweep_note = SweepNote()  # when the run is a sweep's trial
        layout.addWidget(self.sweep_note)
        self.paused_label = QLabel()
        self.paused_label.setObjectName("dashboard.paused")
        self.paused_label.setStyleSheet("color: #a15c00; font-weight: 600;")
        layout.addWidget(self.paused_label)
        self.pace = QLabel()
        self.pace.setObjectName("dashboard.pace")
        self.pace.setWordWrap(True)
        self.pace.setStyleSheet("color: #8a5a00;")
        layout.addWidget(self.pace)
        self.outcome = QLabel()
        self.outcome.setObjectName("dashboard.outcome")
        self.outcome.setWordWrap(True)
        self.outcome.setVisible(False)
        layout.addWidget(self.outcome)
        self.scores = ScorecardPanel(self.outcome)
        layout.addWidget(self.scores)
        grid = QGridLayout()
        self.loss_plot = plot_widget("Loss", "loss")
        # top right, on a light backing: the loss falls from the top left, so the legend covers nothing there
        self.loss_plot.addLegend(offset=(-10, 10), brush=pg.mkBrush(255, 255, 255, 200))
        self.loss_curve = curve(self.loss_plot, "#2a6fdb", "train")
        self.eval_curve = self.loss_plot.plot(pen=None, symbol="o", symbolBrush="#d2691e", name="validation")
        self.lr_plot = plot_widget("Learning rate", "lr")
        self.lr_curve = curve(self.lr_plot, "#7b3fb5")
        self.speed_plot = plot_widget("Throughput", "tokens/s")
        self.speed_curve = curve(self.speed_plot, "#1b7f3b")
        self.steps_plot = plot_widget("Steps per second", "steps/s")
        self.steps_curve = curve(self.steps_plot, "#555555")
        grid.addWidget(self.loss_plot, 0, 0, 1, 3)
        grid.addWidget(self.lr_plot, 1, 0)
        grid.addWidget(self.speed_plot, 1, 1)
        grid.addWidget(self.steps_plot, 1, 2)
        # preference runs only: the reward margin (chosen minus rejected) and the share of pairs the chosen wins
        self.preference_plot = plot_widget("Preferences", "margin / share")
        self.preference_plot.setObjectName("dashboard.preferences")
        self.preference_plot.addLegend(offset=(-10, 10), brush=pg.mkBrush(255, 255, 255, 200))
        self.margin_curve = curve(self.preference_plot, "#c2185b", "reward margin")
        self.accuracy_curve = curve(self.preference_plot, "#00838f", "preference accuracy")
        self.preference_plot.setVisible(False)
        grid.addWidget(self.preference_plot, 2, 0, 1, 3)
        self.reward_plots = RewardPlots()  # GRPO runs only: reward, KL, answer length
        self.reward_plots.setVisible(False)
        grid.addWidget(self.reward_plots, 3, 0, 1, 3)
        layout.addLayout(grid, 1)
        meters = QHBoxLayout()
        self.meters: dict[str, QProgressBar] = {}
        for name in ("CPU", "RAM", "GPU", "GPU memory"):
            box = QVBoxLayout()
            box.addWidget(QLabel(name))
            bar = QProgressBar()
            bar.setObjectName(f"dashboard.meter.{name}")
            bar.setRange(0, 100)
            box.addWidget(bar)
            meters.addLayout(box)
            self.meters[name] = bar
        self.gpu_temperature = QLabel()
        meters.addWidget(self.gpu_temperature)
        layout.addLayout(meters)
        self.toasts = QVBoxLayout()
        layout.addLayout(self.toasts)
        self.alerts = QListWidget()
        self.alerts.setObjectName("dashboard.notifications")
        self.alerts.setMaximumHeight(90)
        layout.addWidget(self.alerts)
        self.notifier = Notifier(self.alerts, notifications_enabled)
        if worker is not None:
            worker.event.connect(self.add_event)
            # the failure's "error" event arrives through worker.event, which shows it (once)
        self._update_buttons()

    # ---- events in --------------------------------------------------------------------------
    def load_run(self, run_dir: Path) -> None:
        """A past or running run's recorded curves, the same way as live ones, and its scorecard if it has one."""
        self.run_dir = Path(run_dir)
        for event in run_events(run_dir):
            self.add_event(event, replay=True)
        card = read_run_info(Path(run_dir)).get("scorecard")
        if card:
            self.scores.show_card(card)

    def add_event(self, event: dict, replay: bool = False) -> None:
        self.series.add(event)
        kind = event.get("type")
        if kind == "metrics":
            self._metrics(event, replay)
        elif kind == "eval":
            self.eval_curve.setData(self.series.eval_steps, self.series.eval_loss)
        elif kind == "status":
            self._status(event)
        elif kind == "notification" and event.get("stage") == "preparing" and not self.series.steps:
            self.status.setText(event.get("message", ""))  # every wait before the first step says what it is
        elif kind == "anomaly" and not replay:
            self.show_anomaly(event)
        elif kind == "error" and not replay:
            self.show_error(event)

    def _metrics(self, event: dict, replay: bool) -> None:
        s = self.series
        if s.steps and not event.get("heartbeat"):
            self.loss_curve.setData(s.steps, s.loss)
            self.lr_curve.setData(s.steps, s.learning_rate)
            self.speed_curve.setData(s.steps, s.tokens_per_second)
            self.steps_curve.setData(s.steps, s.steps_per_second)
            if s.preference_steps:
                self.preference_plot.setVisible(True)
                self.margin_curve.setData(s.preference_steps, s.reward_margin)
                self.accuracy_curve.setData(s.preference_steps, s.preference_accuracy)
            if s.reward_steps:
                self.reward_plots.setVisible(True)
                self.reward_plots.show_series(s)
            self._draw_zones()
        step, max_steps = event.get("step") or 0, event.get("max_steps") or 0
        if max_steps:
            self.progress.setRange(0, max_steps)
            self.progress.setValue(step)
        eta = event.get("eta_seconds")
        epoch = event.get("epoch") or 0
        self.ring.set_progress(step / max_steps if max_steps else 0.0, f"epoch {epoch:.2f}",
                               format_duration(event.get("elapsed_seconds") or 0),
                               f"{format_duration(eta)} left" if eta else "")
        self.status.setText(self._header(step, max_steps, epoch, event.get("elapsed_seconds") or 0, eta))
        if not replay:
            self._check_pace(event)
        self.meters["CPU"].setValue(int(event.get("cpu_percent") or 0))
        if event.get("ram_total"):
            self.meters["RAM"].setValue(int(100 * event["ram_used"] / event["ram_total"]))
        utilization = [u for u in event.get("gpu_utilization") or [] if u is not None]
        self.meters["GPU"].setValue(int(max(utilization)) if utilization else 0)
        used, total = event.get("gpu_memory_used") or [], event.get("gpu_memory_total") or []
        if used and total:
            self.meters["GPU memory"].setValue(int(100 * max(u / t for u, t in zip(used, total))))
        self.gpu_temperature.setText(per_gpu_text(event))
        if not replay and not event.get("heartbeat"):
            for milestone in self.milestones.update(step, max_steps):
                self.notifier.notify(milestone_message(milestone, step, max_steps, event.get("loss")))
        elif replay:
            self.milestones.update(step, max_steps)  # history does not notify again

    def _header(self, step: int, max_steps: int, epoch: float, elapsed: float, eta: float | None) -> str:
        state = self.series.status
        word = {"running": "Training", "paused": "Paused", "completed": "Finished", "stopped": "Stopped",
                "failed": "Failed", "created": "Starting"}.get(state, state.capitalize())
        if self.pausing and state == "running":
            word = "Pausing after this step (saving a checkpoint)"
        text = f"{word} · step {step}/{max_steps} · epoch {epoch:.2f} · elapsed {format_duration(elapsed)}"
        if state == "running" and not self.pausing:
            text += f" · about {format_duration(eta)} left" if eta else " · measuring the speed..."
        return text

    def set_plan(self, planned_seconds: float | None) -> None:
        """The planner's expected duration, so the dashboard can say when the run is slower than planned."""
        self.planned_seconds = planned_seconds

    def _check_pace(self, event: dict) -> None:
        """Slower than planned by half or more: say by how much and why, with the measured re-estimate."""
        elapsed, eta = event.get("elapsed_seconds") or 0, event.get("eta_seconds")
        if not self.planned_seconds or eta is None or elapsed < 20:
            return
        projected = elapsed + eta
        if projected < 1.5 * self.planned_seconds:
            self.pace.clear()
            return
        others = max(0.0, (event.get("cpu_percent") or 0) - (event.get("process_cpu_percent") or 0))
        reason = (f"other programs are using about {others:.0f}% of the CPU" if others >= 20 else
                  "this machine is slower than the planner assumed (measured speed)")
        self.pace.setText(f"Slower than planned: about {format_duration(projected)} in all instead of "
                          f"{format_duration(self.planned_seconds)}, because {reason}. "
                          f"New estimate: {format_duration(eta)} left.")

    def _draw_zones(self) -> None:
        start = self.series.start_loss
        if start is None or self.zone_items:
            return
        top = max(max(self.series.loss), ACCEPTABLE_FACTOR * start) * 1.5
        for low, high, zone in ((0, start, "good"), (start, ACCEPTABLE_FACTOR * start, "acceptable"),
                                (ACCEPTABLE_FACTOR * start, top, "problematic")):
            region = pg.LinearRegionItem(values=(low, high), orientation="horizontal", movable=False,
                                         brush=pg.mkBrush(*ZONE_COLORS[zone]), pen=pg.mkPen(None))
            region.setZValue(-10)
            self.loss_plot.addItem(region)
            self.zone_items.append((zone, region))

    def current_zone(self) -> str | None:
        s = self.series
        return loss_zone(s.loss[-1], s.start_loss) if s.loss else None

    def _status(self, event: dict) -> None:
        state = self.series.status
        self.sweep_note.show_for(self.run_dir)
        if state != "running":
            self.pausing = False
        last = self.series.last_metrics
        if last or state != "running":
            self.status.setText(self._header(last.get("step") or 0, last.get("max_steps") or 0,
                                             last.get("epoch") or 0, event.get("elapsed_seconds")
                                             or last.get("elapsed_seconds") or 0, last.get("eta_seconds")))
        if state == "completed":
            self._show_outcome(event)
            if self.run_dir is not None:
                self.scores.set_run(self.run_dir)
                if self.evaluate_after_run and self.worker is not None and not self.scores.started:
                    self.scores.start()
        info = self.series.paused_at
        if info is not None:
            remaining = info["remaining_seconds"]
            rss = info["process_rss"]
            self.paused_label.setText(
                f"Paused at step {info['step']} of {info['max_steps']} · trained for "
                f"{format_duration(info['elapsed_seconds'])} · about "
                f"{format_duration(remaining) if remaining is not None else '?'} left · at pause: CPU "
                f"{info['cpu_percent'] or 0:.0f}%, memory {(rss or 0) / 2**30:.1f} GB")
        else:
            self.paused_label.clear()
        self._update_buttons()

    def _show_outcome(self, event: dict) -> None:
        """The finished run in words: steps, time, loss, the quality score and what to do next."""
        first, final = event.get("first_loss"), event.get("final_loss")
        quality = event.get("quality") or {}
        rewarded = quality.get("reward") is not None  # a GRPO run: its loss is a policy objective, its measure a reward
        change = (f" · held-back reward {quality['base_reward']:.2f} → {quality['reward']:.2f} of "
                  f"{quality['best_reward']:g}" if rewarded else
                  f" · loss {first:.3f} → {final:.3f}" if first is not None and final is not None else "")
        lines = [f"<b>Finished</b>: {event.get('steps', '?')} steps in "
                 f"{format_duration(event.get('duration_seconds') or 0)}" + change
                 + (f" · {escape(str(event['version']))}" if event.get("version") else "")]
        if quality:
            lines.append(f"<b>Quality: {quality.get('score', 0):.0f}/100 ({escape(quality.get('verdict', ''))})</b>")
            lines += [f"• {escape(text)}" for text in quality.get("suggestions", [])]
        self.outcome.setText("<br>".join(lines))
        self.outcome.setVisible(True)
        self.pace.clear()

    def show_anomaly(self, event: dict) -> Toast:
        """A toast with the anomaly's explanation and its suggested actions as buttons, plus a notification."""
        urgent = event.get("severity") in ("high", "critical")
        title = f"Training problem: {event.get('anomaly_type', 'anomaly').replace('_', ' ')}"
        actions = [a for a in event.get("actions", []) if a.get("id") in self.ACTIONS]
        toast = Toast(title, event.get("message", ""), actions, urgent, self)
        toast.action_chosen.connect(self._act)
        self.toasts.addWidget(toast)
        self.notifier.notify({"title": title, "message": event.get("message", ""), "urgent": urgent})
        return toast

    def show_error(self, error: dict) -> Toast:
        """The plain-language error with its actions, and a Get help button that opens the right page."""
        self.notifier.notify(error_notification(error))
        self.help_link = error.get("help_link")
        lines = [error.get("what", ""), error.get("why", "")] + [f"• {a}" for a in error.get("actions", [])]
        toast = Toast(error.get("title", "Training stopped"), "\n".join(filter(None, lines)),
                      [{"id": "help", "label": "Get help"}], urgent=True, parent=self)
        toast.action_chosen.connect(self._act)
        self.toasts.addWidget(toast)
        return toast

    def open_help(self):
        from peftstudio.ui.help_viewer import HelpViewer, topic_of  # lazy: off the start-up path (bench/startup.py)

        self.help_window = HelpViewer(topic_of(getattr(self, "help_link", None)), self)
        self.help_window.show()
        return self.help_window

    ACTIONS = ("pause", "stop", "resume", "help")

    def _act(self, action_id: str) -> None:
        {"pause": self.pause, "stop": lambda: self.confirm_stop(ask=False), "resume": self.resume,
         "help": self.open_help}.get(action_id, lambda: None)()

    # ---- controls out -------------------------------------------------------------------------
    def _update_buttons(self) -> None:
        status = self.series.status
        live = self.worker is not None
        self.pause_button.setEnabled(live and status == "running" and not self.pausing)
        self.resume_button.setEnabled(live and status in ("paused", "stopped", "failed"))
        self.stop_button.setEnabled(live and status in ("running", "paused"))

    def pause(self) -> None:
        if self.worker is not None and self.series.status == "running" and not self.pausing:
            self.worker.pause()
            self.pausing = True  # until the paused status arrives: the header keeps saying so
            last = self.series.last_metrics
            self.status.setText(self._header(last.get("step") or 0, last.get("max_steps") or 0,
                                             last.get("epoch") or 0, last.get("elapsed_seconds") or 0, None))
            self._update_buttons()

    def resume(self) -> None:
        if self.worker is not None and self.series.status in ("paused", "stopped", "failed"):
            self.worker.resume()

    def confirm_stop(self, ask: bool = True) -> None:
        if self.worker is None or self.series.status not in ("running", "paused"):
            return
        if ask and QMessageBox.question(self, "Stop training?", "Stop this run? Its last checkpoint is kept, so "
                                        "you can resume it later.") != QMessageBox.Yes:
            return
        self.worker.stop()
