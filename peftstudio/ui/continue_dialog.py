"""Continue training a finished version: more epochs, or new data added or swapped, as a new child version.

"Continue" is not "Resume": resume picks up an interrupted run where it stopped (on its dashboard);
continue starts a new run from a completed version's adapter. The dialog only collects the choices;
engine/training/continuation.py makes the settings (and says which optimizer choice it recommends).
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFileDialog,
                               QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QRadioButton, QVBoxLayout)

from peftstudio.engine.errors import PlainError
from peftstudio.engine.training import DATA_MODES, carry_advice, continue_config

INTRO = ("Continuing starts a new version from {name} v{version}'s adapter; v{version} itself stays as it is. "
         "(To pick up a run that was interrupted, use Resume on its dashboard instead.)")


class ContinueDialog(QDialog):
    def __init__(self, version: dict, parent=None):
        super().__init__(parent)
        self.version = version
        self.result_config = None  # (TrainingConfig, facts for run.json) once accepted
        self.setWindowTitle(f"Continue training {version['model_name']} v{version['version']}")
        layout = QVBoxLayout(self)
        self.intro = intro = QLabel(INTRO.format(name=version["model_name"], version=version["version"]))
        intro.setTextFormat(Qt.PlainText)  # the model name is the user's
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.modes = QButtonGroup(self)
        self.mode_buttons = {}
        for mode, words in DATA_MODES.items():
            button = QRadioButton(words[0].upper() + words[1:])
            button.setObjectName(f"continue.{mode}")
            self.modes.addButton(button)
            self.mode_buttons[mode] = button
            layout.addWidget(button)
        file_row = QHBoxLayout()
        self.dataset = QLineEdit()
        self.dataset.setObjectName("continue.dataset")
        self.dataset.setPlaceholderText("The file with the new examples")
        browse = QPushButton("Browse...")
        browse.clicked.connect(self._browse)
        file_row.addWidget(self.dataset, 1)
        file_row.addWidget(browse)
        layout.addLayout(file_row)
        form = QFormLayout()
        self.epochs = QDoubleSpinBox()
        self.epochs.setObjectName("continue.epochs")
        self.epochs.setRange(0.5, 100.0)
        self.epochs.setSingleStep(0.5)
        self.epochs.setValue(float(version["config"].get("epochs", 1.0)))
        form.addRow("More epochs", self.epochs)
        self.carry = QCheckBox("Keep the optimizer's state from the earlier run")
        self.carry.setObjectName("continue.carry")
        form.addRow(self.carry)
        layout.addLayout(form)
        self.advice = QLabel()
        self.advice.setObjectName("continue.advice")
        self.advice.setWordWrap(True)
        self.advice.setStyleSheet("color: #555;")
        layout.addWidget(self.advice)
        self.error = QLabel()
        self.error.setObjectName("continue.error")
        self.error.setTextFormat(Qt.PlainText)
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b00020;")
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.Cancel)
        self.start = buttons.addButton("Continue training", QDialogButtonBox.AcceptRole)
        self.start.setObjectName("continue.start")
        self.queued = False  # "Add to queue": the run waits its turn in the queue instead of starting now
        self.queue_button = buttons.addButton("Add to queue", QDialogButtonBox.ActionRole)
        self.queue_button.setObjectName("continue.queue")
        self.queue_button.clicked.connect(self._queue)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.modes.buttonToggled.connect(lambda *_: self._mode_changed())
        self.mode_buttons["same"].setChecked(True)

    def mode(self) -> str:
        return next(mode for mode, button in self.mode_buttons.items() if button.isChecked())

    def _mode_changed(self) -> None:
        advice = carry_advice(self.mode())
        self.carry.setChecked(advice.carry)  # the recommendation; the user may change it
        self.advice.setText(advice.reason)
        self.dataset.setEnabled(self.mode() != "same")

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "New examples", str(Path.home()),
                                              "Datasets (*.json *.jsonl *.csv *.tsv *.txt *.parquet);;All files (*)")
        if path:
            self.dataset.setText(path)

    def _queue(self) -> None:
        self.queued = True
        self._accept()

    def _accept(self) -> None:
        try:
            self.result_config = continue_config(self.version, data=self.mode(),
                                                 dataset=self.dataset.text().strip() or None,
                                                 epochs=self.epochs.value(), carry_optimizer=self.carry.isChecked())
        except PlainError as error:
            self.error.setText(f"{error.title}. {error.what} {error.actions[0] if error.actions else ''}")
            return
        self.accept()
