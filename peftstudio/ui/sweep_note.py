"""The line a run's dashboard shows when the run is a sweep's trial: which sweep, which trial, how it ended."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from peftstudio.engine.runs import read_run_info

ENDINGS = {"pruned": "stopped early by the sweep (pruned): its validation loss was behind the other trials'",
           "done": "finished", "failed": "failed", "stopped": "stopped"}


class SweepNote(QLabel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("dashboard.sweep")
        self.setTextFormat(Qt.PlainText)
        self.setStyleSheet("color: #555;")
        self.setVisible(False)

    def show_for(self, run_dir) -> None:
        sweep = read_run_info(run_dir).get("sweep") if run_dir is not None else None
        if not sweep:
            return
        ending = ENDINGS.get(sweep.get("state"), "")
        self.setText(f"Trial {sweep['trial'] + 1} of sweep {sweep['id']}" + (f": {ending}." if ending else "."))
        self.setVisible(True)
