"""The playground's feedback row: judge the last answer, and turn the judgements into the next version.

Bound to the playground's last exchange (the conversation before the answer, and the answers). Each judgement is
kept with the version (engine/history/feedback.py); "Improve this version" exports them as a preference dataset
and asks the window to train a child version on it, with the method the judgements suit.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QInputDialog, QLabel, QPushButton, QWidget

from peftstudio.engine import paths
from peftstudio.engine.errors import PlainError
from peftstudio.engine.history import read_feedback, record_feedback
from peftstudio.ui.locales import STRINGS


class FeedbackBar(QWidget):
    # (TrainingConfig, facts for run.json): a child version trained on this version's feedback
    improve_requested = Signal(object, dict)

    def __init__(self, run_dir: Path, last_exchange: Callable[[], tuple[list[dict], dict[str, str]] | None],
                 parent=None):
        super().__init__(parent)
        self.run_dir, self.last_exchange = Path(run_dir), last_exchange
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.buttons = {}
        for key, slot in (("good", lambda: self.thumbs(True)), ("bad", lambda: self.thumbs(False)),
                          ("tuned_better", lambda: self.better("tuned")), ("base_better", lambda: self.better("base")),
                          ("edit", lambda: self.edit()), ("improve", lambda: self.improve())):
            button = QPushButton(STRINGS[f"feedback.{key}"])
            button.setObjectName(f"feedback.{key}")
            button.setToolTip(STRINGS[f"feedback.{key}_tip"])
            button.clicked.connect(slot)
            self.buttons[key] = button
            row.addWidget(button)
        self.count = QLabel()
        self.count.setObjectName("feedback.count")
        self.count.setTextFormat(Qt.PlainText)
        row.addWidget(self.count, 1)
        self.refresh()

    def refresh(self, answered: bool = False, compared: bool = False) -> None:
        """Buttons follow what there is to judge; the count says what has been collected."""
        for key in ("good", "bad", "edit"):
            self.buttons[key].setEnabled(answered)
        for key in ("tuned_better", "base_better"):
            self.buttons[key].setEnabled(answered and compared)
        records = read_feedback(self.run_dir)
        self.buttons["improve"].setEnabled(bool(records))
        self.count.setText(STRINGS["feedback.count"].format(n=len(records)) if records else "")

    def _exchange(self):
        exchange = self.last_exchange()
        if exchange is None:
            raise PlainError(title="Nothing to judge yet", what="Ask the model something first.",
                             why="Feedback is about an answer.", actions=["Send a prompt, then judge its answer."],
                             help_topic="runs")
        return exchange

    def thumbs(self, good: bool) -> None:
        prompt, answers = self._exchange()
        record_feedback(self.run_dir, "thumbs", prompt, answer=answers["tuned"], good=good)
        self.refresh(True, bool(answers.get("base")))

    def better(self, which: str) -> None:
        prompt, answers = self._exchange()
        other = "base" if which == "tuned" else "tuned"
        record_feedback(self.run_dir, "pair", prompt, chosen=answers[which], rejected=answers[other])
        self.refresh(True, True)

    def edit(self, text: str | None = None) -> None:
        """The user's own better answer: it becomes the chosen side, the model's the rejected one."""
        prompt, answers = self._exchange()
        if text is None:
            text, ok = QInputDialog.getMultiLineText(self, STRINGS["feedback.edit"], STRINGS["feedback.edit_ask"],
                                                     answers["tuned"])
            if not ok:
                return
        record_feedback(self.run_dir, "edit", prompt, original=answers["tuned"], edited=text)
        self.refresh(True, bool(answers.get("base")))

    def improve(self) -> tuple | None:
        """Export the feedback and ask for a child version trained on it (pairs: DPO, thumbs only: KTO)."""
        # lazy: off the start-up path (bench/startup.py)
        from peftstudio.engine.history import default_store, export_feedback, version_of_run
        from peftstudio.engine.planning import preference_defaults  # lazy: off the start-up path (bench/startup.py)
        from peftstudio.engine.training import continue_config  # lazy: off the start-up path (bench/startup.py)

        version = version_of_run(default_store(), self.run_dir.resolve())
        if version is None:
            self.count.setText(STRINGS["feedback.no_version"])
            return None
        out = paths.data_dir() / "datasets" / f"{version['model_name']}-{version['version']}-feedback.jsonl"
        out.parent.mkdir(parents=True, exist_ok=True)
        rows, method = export_feedback(self.run_dir, out)
        from peftstudio.engine.runs import read_run_info  # lazy: off the start-up path (bench/startup.py)

        defaults = preference_defaults(method, read_run_info(self.run_dir).get("profile_id"))
        config, facts = continue_config(dict(version, run_dir=str(self.run_dir.resolve())), data="swap",
                                        dataset=str(out), carry_optimizer=False,
                                        overrides={"training_method": method, "preference_beta": defaults.beta,
                                                   "learning_rate": defaults.learning_rate, "epochs": 3.0})
        self.count.setText(STRINGS["feedback.improving"].format(n=rows, method=method.upper(),
                                                                 reason=defaults.reason))
        self.improve_requested.emit(config, facts)
        return config, facts
