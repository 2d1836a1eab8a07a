"""Try several settings: which settings vary and how, the search, the budget and the objective; the plan is
checked against the planner before the sweep's trials are queued."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout,
                               QGridLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QSpinBox, QVBoxLayout)

from peftstudio.engine.config import setting
from peftstudio.engine.planning import format_duration
from peftstudio.engine.training import create_sweep, parse_vary, plan_sweep
from peftstudio.ui.tasks import run_in_background

SAMPLER_CHOICES = [("Optuna TPE: learns from the earlier trials", "tpe"), ("Random", "random"),
                   ("Grid: every combination", "grid")]
OBJECTIVE_CHOICES = [("Validation loss (lower is better)", "val-loss"),
                     ("The scorecard's task metric (slower: each trial is scored)", "task-metric")]
DEFAULT_VARIED = ("learning_rate", "lora_r")


def _numbers(values, kind: str) -> str:
    return ",".join(dict.fromkeys(str(int(v)) if kind == "int" else f"{v:g}" for v in values))


def suggestions(config) -> dict[str, str]:
    """Values worth trying around the current settings (the user edits them freely)."""
    lr, r, epochs, batch = config.learning_rate, config.lora_r, config.epochs, config.batch_size
    return {
        "learning_rate": f"{lr / 3:.2g}:{lr * 3:.2g}:log",
        "lora_r": _numbers(sorted({max(1, r // 2), r, r * 2}), "int"),
        "epochs": _numbers(sorted({max(1.0, epochs - 1), epochs, epochs + 1}), "float"),
        "batch_size": _numbers(sorted({max(1, batch // 2), batch, batch * 2}), "int"),
        "use_dora": "false,true",
        "use_rslora": "false,true",
        "loraplus_lr_ratio": "1,16",
        "neftune_noise_alpha": "0,5",
    }


class SweepDialog(QDialog):
    queued = Signal(str)  # the sweep's id, once its trials are in the queue

    def __init__(self, config, annotations: dict, parent=None):
        super().__init__(parent)
        self.setObjectName("sweep_dialog")
        self.setWindowTitle("Try several settings")
        self.setMinimumWidth(560)
        self.config, self.annotations = config, annotations
        self.plan = None
        self.busy = False
        layout = QVBoxLayout(self)
        intro = QLabel("Each trial is a normal run with different values, trained one after another through the "
                       "queue. Trials that are clearly behind stop early; at the end you keep the best.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        grid = QGridLayout()
        self.varied: dict[str, tuple[QCheckBox, QLineEdit]] = {}
        for row, (name, values) in enumerate(suggestions(config).items()):
            check = QCheckBox(setting(name).label)
            check.setObjectName(f"sweep.vary.{name}")
            check.setToolTip(setting(name).help)
            check.setChecked(name in DEFAULT_VARIED)
            field = QLineEdit(values)
            field.setObjectName(f"sweep.values.{name}")
            field.setToolTip("Values separated by commas, or a range LOW:HIGH (add :log for a log scale)")
            grid.addWidget(check, row, 0)
            grid.addWidget(field, row, 1)
            self.varied[name] = (check, field)
        layout.addLayout(grid)
        form = QFormLayout()
        self.sampler = QComboBox()
        self.sampler.setObjectName("sweep.sampler")
        for text, value in SAMPLER_CHOICES:
            self.sampler.addItem(text, value)
        form.addRow("Search", self.sampler)
        budget = QHBoxLayout()
        self.budget_kind = QComboBox()
        self.budget_kind.setObjectName("sweep.budget_kind")
        self.budget_kind.addItem("trials", "trials")
        self.budget_kind.addItem("hours", "hours")
        self.trials = QSpinBox()
        self.trials.setObjectName("sweep.trials")
        self.trials.setRange(2, 200)
        self.trials.setValue(6)
        self.hours = QDoubleSpinBox()
        self.hours.setObjectName("sweep.hours")
        self.hours.setRange(0.05, 168)
        self.hours.setValue(8)
        self.hours.setVisible(False)
        self.budget_kind.currentIndexChanged.connect(self._budget_kind_changed)
        for widget in (self.trials, self.hours, self.budget_kind):
            budget.addWidget(widget)
        form.addRow("Budget", budget)
        self.objective = QComboBox()
        self.objective.setObjectName("sweep.objective")
        for text, value in OBJECTIVE_CHOICES:
            self.objective.addItem(text, value)
        form.addRow("Best means", self.objective)
        layout.addLayout(form)
        self.check_button = QPushButton("Check the plan")
        self.check_button.setObjectName("sweep.check")
        self.check_button.clicked.connect(self.check)
        layout.addWidget(self.check_button)
        self.message = QLabel()
        self.message.setObjectName("sweep.message")
        self.message.setTextFormat(Qt.PlainText)  # values and errors come from what the user typed
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        buttons = QDialogButtonBox(QDialogButtonBox.Cancel)
        self.queue_button = buttons.addButton("Queue the sweep", QDialogButtonBox.AcceptRole)
        self.queue_button.setObjectName("sweep.queue")
        buttons.accepted.connect(self.queue_sweep)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _budget_kind_changed(self) -> None:
        hours = self.budget_kind.currentData() == "hours"
        self.hours.setVisible(hours)
        self.trials.setVisible(not hours)

    def vary_text(self) -> str:
        return ",".join(f"{name}={field.text().strip()}" for name, (check, field) in self.varied.items()
                        if check.isChecked())

    def _plan(self):
        hours = self.budget_kind.currentData() == "hours"
        return plan_sweep(self.config.to_dict(), parse_vary(self.vary_text()), self.sampler.currentData(),
                          trials=None if hours else self.trials.value(), hours=self.hours.value() if hours else None,
                          objective=self.objective.currentData(), annotations=self.annotations)

    def _working(self, busy: bool, message: str = "") -> None:
        self.busy = busy
        for button in (self.check_button, self.queue_button):
            button.setEnabled(not busy)
        if message:
            self.message.setText(message)

    def _failed(self, error) -> None:
        self._working(False, f"{error.title}. {error.what} {error.actions[0] if error.actions else ''}")

    def check(self) -> None:
        """The planner's verdict on the budget (off the UI thread: it reads the dataset with the tokenizer)."""
        self._working(True, "Estimating each trial's time...")
        run_in_background(self._plan, on_done=self._planned, on_error=self._failed)

    def _planned(self, plan) -> None:
        self.plan = plan
        self._working(False, f"{plan.trials} trials of about {format_duration(plan.trial_seconds)} each: about "
                             f"{format_duration(plan.planned_seconds)} in all, one after another.")

    def queue_sweep(self) -> None:
        def plan_and_create():
            plan = self._plan()
            return plan, create_sweep(plan)

        self._working(True, "Queueing the trials...")
        run_in_background(plan_and_create, on_done=self._created, on_error=self._failed)

    def _created(self, result) -> None:
        self.plan, sweep_id = result
        self._working(False)
        self.queued.emit(sweep_id)
        self.accept()
