"""Step 4 of the checker use case (GRPO): which checkers score the answers, with what weight, the user's own
reward file (allowed first), the answers per prompt and their length, and a preview of the base model's scores.

The rows come from engine/rewards (choices.py: one per built-in checker, the `--reward` syntax) and the numbers
from their declarations; the page shows them and reports the user's choices to the WizardModel.
"""
from __future__ import annotations

import threading
from dataclasses import replace

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWizardPage,
)

from peftstudio.engine.config import setting
from peftstudio.engine.errors import PlainError
from peftstudio.ui.declared_field import value_of, widget_for
from peftstudio.ui.locales import STRINGS
from peftstudio.ui.tasks import run_in_background

NUMBERS = ("num_generations", "max_completion_length", "kl_beta")
PREVIEW_PROMPTS = 8
ERROR_STYLE = "color: #b00020;"


class RewardsPage(QWizardPage):
    def __init__(self, wizard):
        super().__init__()
        self.wiz = wizard
        self.setTitle(STRINGS["wizard.rewards.title"])
        self.setSubTitle(STRINGS["wizard.rewards.subtitle"])
        self.on, self.arguments, self.weights = {}, {}, {}
        self._loading, self._task, self._stop = False, None, threading.Event()
        self.busy = False
        layout = QVBoxLayout(self)
        grid = QGridLayout()
        layout.addLayout(grid)
        from peftstudio.engine.rewards import CHECKERS, example_arguments  # lazy: off the start-up path

        for row, checker in enumerate(CHECKERS.values()):
            on = QCheckBox(checker.name)
            on.setObjectName(f"reward.on.{checker.name}")
            on.setToolTip(checker.help)
            arguments = QLineEdit()
            arguments.setObjectName(f"reward.arguments.{checker.name}")
            arguments.setPlaceholderText(example_arguments(checker.name) if checker.arguments else "(no arguments)")
            arguments.setEnabled(bool(checker.arguments))
            weight = QDoubleSpinBox()
            weight.setObjectName(f"reward.weight.{checker.name}")
            weight.setRange(0.0, 10.0)
            weight.setSingleStep(0.25)
            weight.setPrefix("weight ")
            weight.setToolTip("How much this checker counts in the total (1 is usual).")
            about = QLabel(checker.help + (" (needs a reference answer)" if checker.needs_reference else ""))
            about.setTextFormat(Qt.PlainText)
            about.setStyleSheet("color: #666; font-size: 11px;")
            for column, widget in enumerate((on, arguments, weight, about)):
                grid.addWidget(widget, row, column)
            self.on[checker.name], self.arguments[checker.name], self.weights[checker.name] = on, arguments, weight
        grid.setColumnStretch(3, 1)

        file_row = QHBoxLayout()
        caption = QLabel(STRINGS["wizard.rewards.file"])
        caption.setToolTip(STRINGS["wizard.rewards.file_tip"])
        file_row.addWidget(caption)
        self.reward_file = QLineEdit()
        self.reward_file.setObjectName("reward.file")
        self.reward_file.setToolTip(STRINGS["wizard.rewards.file_tip"])
        self.reward_file.textEdited.connect(lambda _: self.allow.setChecked(False))  # another file, asked again
        file_row.addWidget(self.reward_file, 1)
        browse = QPushButton(STRINGS["wizard.rewards.browse"])
        browse.setObjectName("reward.browse")
        browse.clicked.connect(self._browse)
        file_row.addWidget(browse)
        self.allow = QCheckBox(STRINGS["wizard.rewards.allow"])
        self.allow.setObjectName("reward.allow")
        file_row.addWidget(self.allow)
        layout.addLayout(file_row)

        numbers = QFormLayout()
        self.numbers, self.why = {}, {}
        for name in NUMBERS:
            spec = setting(name)
            widget = widget_for(spec, getattr(self.wiz.state.config, name), "train")
            widget.valueChanged.connect(lambda _=0, n=name: self._number_edited(n))
            why = QLabel()
            why.setObjectName(f"why.{name}")
            why.setTextFormat(Qt.PlainText)
            why.setWordWrap(True)
            why.setStyleSheet("color: #666; font-size: 11px;")
            row = QHBoxLayout()
            row.addWidget(widget)
            row.addWidget(why, 1)
            label = QLabel(spec.label)
            label.setToolTip(spec.help)
            numbers.addRow(label, row)
            self.numbers[name], self.why[name] = widget, why
        layout.addLayout(numbers)

        preview_row = QHBoxLayout()
        self.preview_button = QPushButton(STRINGS["wizard.rewards.preview"])
        self.preview_button.setObjectName("reward.preview")
        self.preview_button.setToolTip(STRINGS["wizard.rewards.preview_tip"])
        self.preview_button.clicked.connect(lambda: self.preview())
        preview_row.addWidget(self.preview_button)
        self.stop_button = QPushButton(STRINGS["wizard.rewards.cancel"])
        self.stop_button.setObjectName("reward.stop")
        self.stop_button.setVisible(False)
        self.stop_button.clicked.connect(self._stop.set)
        preview_row.addWidget(self.stop_button)
        self.status = QLabel()
        self.status.setObjectName("reward.status")
        self.status.setTextFormat(Qt.PlainText)
        self.status.setWordWrap(True)
        preview_row.addWidget(self.status, 1)
        layout.addLayout(preview_row)
        self.table = QTableWidget(0, 0)
        self.table.setObjectName("reward.preview_table")
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(True)
        layout.addWidget(self.table, 1)
        self.warnings = QLabel()
        self.warnings.setObjectName("reward.warnings")
        self.warnings.setTextFormat(Qt.PlainText)
        self.warnings.setWordWrap(True)
        self.warnings.setStyleSheet("color: #8a5a00;")
        layout.addWidget(self.warnings)
        self.message = QLabel()
        self.message.setObjectName("reward.message")
        self.message.setTextFormat(Qt.PlainText)
        self.message.setWordWrap(True)
        self.message.setStyleSheet(ERROR_STYLE)
        layout.addWidget(self.message)

    # ---- the model's choices in ----------------------------------------------------------------
    def initializePage(self) -> None:  # noqa: N802
        state = self.wiz.state
        plan = self.wiz.model.replan()
        self._loading = True
        for name, choice in self.wiz.model.reward_choices().items():
            self.on[name].setChecked(choice.on)
            self.arguments[name].setText(choice.arguments)
            self.weights[name].setValue(choice.weight)
        self.reward_file.setText(state.config.reward_file or "")
        self._show_numbers(plan)
        self._loading = False

    def _show_numbers(self, plan) -> None:
        edits = self.wiz.state.user_edits
        for name, widget in self.numbers.items():
            widget.setValue(getattr(self.wiz.state.config, name))
            self.why[name].setText(STRINGS["wizard.config.yours"] if name in edits else plan.reasons.get(name, ""))

    def _number_edited(self, name: str) -> None:
        if self._loading:
            return
        self.wiz.model.set_setting(name, value_of(setting(name), self.numbers[name]))
        self.why[name].setText(STRINGS["wizard.config.yours"])

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, STRINGS["wizard.rewards.file"], "", "Python (*.py)")
        if path:
            self.reward_file.setText(path)
            self.allow.setChecked(False)

    # ---- the user's choices out ----------------------------------------------------------------
    def apply(self) -> bool:
        """The form into the WizardModel (the planner's answer length follows a length window); False with a
        plain message when a checker's arguments are wrong or the reward file is not allowed."""
        from peftstudio.engine.consent import grant_code, has_code_consent  # lazy: off the start-up path
        from peftstudio.engine.rewards import RewardChoice, RewardSet

        choices = {name: RewardChoice(name, box.isChecked(), self.arguments[name].text(),
                                      self.weights[name].value()) for name, box in self.on.items()}
        path = self.reward_file.text().strip() or None
        if path and not has_code_consent(path) and not self.allow.isChecked():
            self.message.setText(STRINGS["wizard.rewards.allow_needed"])
            return False
        try:
            if path and self.allow.isChecked():
                grant_code(path)
            self.wiz.model.choose_rewards(choices, path)
            RewardSet.from_config(self.wiz.state.config).close()  # the file exists and may run; at least one
        except PlainError as error:
            self.message.setText(f"{error.title}. {error.what} {error.why}")
            return False
        self.message.clear()
        self._loading = True
        self._show_numbers(self.wiz.model.replan())
        self._loading = False
        return True

    def preview(self) -> None:
        from peftstudio.engine.training import preview_rewards  # lazy: off the start-up path (bench/startup.py)

        if self.busy or not self.apply():
            return
        config = replace(self.wiz.state.config)
        self.busy = True
        self._stop.clear()
        self.preview_button.setEnabled(False)
        self.stop_button.setVisible(True)
        self.status.setText(STRINGS["wizard.rewards.previewing"])
        self.warnings.clear()
        self._task = run_in_background(preview_rewards, config, prompts=PREVIEW_PROMPTS,
                                       generations=config.num_generations,
                                       max_new_tokens=config.max_completion_length, cancelled=self._stop.is_set,
                                       on_done=self._show_preview, on_error=self._preview_failed,
                                       on_progress=self.status.setText)

    def _preview_ended(self) -> None:
        self.busy = False
        self.preview_button.setEnabled(True)
        self.stop_button.setVisible(False)

    def _preview_failed(self, error) -> None:
        self._preview_ended()
        self.status.clear()
        self.message.setText(error.render())

    def _show_preview(self, result: dict) -> None:
        self._preview_ended()
        labels = result["rewards"]
        self.table.setColumnCount(4 + len(labels))
        self.table.setHorizontalHeaderLabels(["Row", "Prompt", "Answer", *labels, "Total"])
        rows = [(p, a) for p in result["prompts"] for a in p["answers"]]
        self.table.setRowCount(len(rows))
        for index, (prompt, answer) in enumerate(rows):
            values = [str(prompt["row"]), prompt["prompt"][:200], answer["text"][:300],
                      *(f"{answer['rewards'][label]:.2f}" for label in labels), f"{answer['total']:.2f}"]
            for column, value in enumerate(values):
                self.table.setItem(index, column, QTableWidgetItem(value))
        self.table.setColumnWidth(0, 44)
        self.table.setColumnWidth(1, 200)
        self.table.setColumnWidth(2, 320)
        done = STRINGS["wizard.rewards.cancelled"] if result.get("cancelled") else ""
        best = sum(result["weights"])
        self.status.setText(" ".join(filter(None, [STRINGS["wizard.rewards.previewed"].format(
            mean=result["mean_reward"], best=best), done])))
        self.warnings.setText("\n".join(f"⚠ {w}" for w in result["warnings"]))

    def validatePage(self) -> bool:  # noqa: N802
        if self.busy:
            self.message.setText(STRINGS["wizard.rewards.busy"])
            return False
        return self.apply()

    def cleanupPage(self) -> None:  # noqa: N802 - Back keeps the choices (the model holds them)
        if not self.busy:
            self.apply()
