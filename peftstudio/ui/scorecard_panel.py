"""The scorecard of a finished run on its dashboard: Score / Cancel, progress in words, the card when done.

Scoring runs off the UI thread (`run_in_background`); the card is appended to the outcome label the
dashboard shows for the finished run and is saved with the run's version unless cancelled.
"""
from __future__ import annotations

import threading
from html import escape
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QDialog, QHBoxLayout, QLabel, QLineEdit, QPlainTextEdit, QPushButton, QVBoxLayout,
                               QWidget)

from peftstudio.ui.tasks import run_in_background


def score_run(run_dir: Path, judge: str | None, skills_limit: int | None, cancel, progress=None) -> dict:
    """The scorecard of a run, saved with its version unless cancelled (runs in a background task)."""
    # lazy: off the start-up path (bench/startup.py)
    from peftstudio.engine.evaluation import evaluate_run, save_scorecard

    card = evaluate_run(run_dir, judge=judge, skills_limit=skills_limit, cancel=cancel,
                        progress=lambda fraction, message: progress and progress(f"{message} ({fraction:.0%})"))
    if not card.get("cancelled"):
        save_scorecard(run_dir, card)
    return card


class ScorecardPanel(QWidget):
    def __init__(self, outcome: QLabel, parent=None):
        super().__init__(parent)
        self.setObjectName("dashboard.scorecard")
        self.outcome = outcome  # the dashboard's finished-run text, which the card extends
        self.run_dir: Path | None = None
        self.card: dict | None = None
        self.task = None
        self.cancel_event: threading.Event | None = None
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.progress = QLabel()
        self.progress.setObjectName("dashboard.scoring")
        self.progress.setTextFormat(Qt.PlainText)
        self.score_button = QPushButton("Score this run")
        self.score_button.setObjectName("dashboard.score")
        self.score_button.setToolTip("Its held-back examples before and after fine-tuning, and the general-skills "
                                     "check for forgetting")
        self.score_button.clicked.connect(lambda: self.start(self.judge.text().strip() or None))
        self.score_button.setVisible(False)
        self.judge = QLineEdit()
        self.judge.setObjectName("dashboard.judge")
        self.judge.setPlaceholderText("Judge (optional): http://localhost:11434, a .gguf file or a model id")
        self.judge.setToolTip("A model that compares the base and fine-tuned answers, each pair in both orders. "
                              "Only the judge you name sees your held-back examples.")
        self.judge.setVisible(False)
        self.verdicts_button = QPushButton("Judge's verdicts...")
        self.verdicts_button.setObjectName("dashboard.verdicts")
        self.verdicts_button.setVisible(False)
        self.verdicts_button.clicked.connect(lambda: self.show_verdicts())
        self.cancel_button = QPushButton("Cancel scoring")
        self.cancel_button.setObjectName("dashboard.cancel_scoring")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel)
        row.addWidget(self.progress, 1)
        row.addWidget(self.judge, 1)
        row.addWidget(self.score_button)
        row.addWidget(self.verdicts_button)
        row.addWidget(self.cancel_button)

    @property
    def started(self) -> bool:
        return self.task is not None

    @property
    def running(self) -> bool:
        return self.cancel_button.isVisibleTo(self)

    def set_run(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)
        self.score_button.setVisible(True)
        self.judge.setVisible(True)

    def start(self, judge: str | None = None, skills_limit: int | None = None):
        """Score the run with progress and cancel; the card is saved with the version."""
        if self.run_dir is None or self.running:
            return None
        self.cancel_event = threading.Event()
        self.score_button.setEnabled(False)
        self.cancel_button.setVisible(True)
        self.progress.setText("Scoring: starting...")
        self.task = run_in_background(score_run, self.run_dir, judge, skills_limit, self.cancel_event,
                                      on_done=self._done, on_error=self._failed,
                                      on_progress=lambda message: self.progress.setText(f"Scoring: {message}"))
        return self.task

    def cancel(self) -> None:
        if self.cancel_event is not None:
            self.cancel_event.set()
            self.progress.setText("Scoring: cancelling after the current batch...")

    def _done(self, card: dict) -> None:
        self.cancel_button.setVisible(False)
        self.score_button.setEnabled(True)
        self.progress.setText("Scoring cancelled; nothing was saved." if card.get("cancelled") else "")
        if not card.get("cancelled"):
            self.show_card(card)


    def _failed(self, error) -> None:
        self.cancel_button.setVisible(False)
        self.score_button.setEnabled(True)
        self.progress.setText(f"Scoring failed: {error.title}. {error.what}")

    def show_card(self, card: dict) -> None:
        # lazy: off the start-up path (bench/startup.py)
        from peftstudio.engine.evaluation import headline  # the evaluation code loads only when a card is shown

        self.card = card
        self.verdicts_button.setVisible(bool(card.get("judge")))
        lines = ["<b>Scorecard</b>"] + [escape(line) for line in headline(card)]
        lines += [f"• {escape(tip)}" for tip in card.get("suggestions", [])]
        text = self.outcome.text()
        self.outcome.setText((text + "<br>" if text else "") + "<br>".join(lines))
        self.outcome.setVisible(True)

    def show_verdicts(self) -> QDialog | None:
        """The judge's raw replies, one per judgment, as plain text (they quote the user's data)."""
        judged = (self.card or {}).get("judge")
        if not judged:
            return None
        dialog = QDialog(self)
        dialog.setWindowTitle(f"Verdicts of {judged['judge']}")
        text = QPlainTextEdit("\n\n".join(
            f"{v['prompt']}\n  fine-tuned shown as {v['tuned_shown_as']} -> {v['winner']}; judge said: {v['reply']!r}"
            for v in judged["verdicts"]))
        text.setReadOnly(True)
        QVBoxLayout(dialog).addWidget(text)
        dialog.resize(800, 500)
        dialog.show()
        return dialog
