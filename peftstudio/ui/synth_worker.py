"""Making examples from documents off the UI thread: each row, the progress and the end come back as signals."""
from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QThread, Signal

from peftstudio.engine.errors import from_exception


class SynthWorker(QThread):
    row = Signal(dict)
    progress = Signal(int, int, str)  # done, total, what is happening
    done = Signal(object)  # SynthResult
    failed = Signal(object)  # PlainError

    def __init__(self, documents: list[str], teacher: str, profile_id: str, count: int, out: Path, parent=None):
        super().__init__(parent)
        self.documents, self.teacher, self.profile_id, self.count, self.out = \
            documents, teacher, profile_id, count, out
        self.cancel = threading.Event()

    def run(self) -> None:
        from peftstudio.engine.data import recipe_for, synthesize  # lazy: off the start-up path (bench/startup.py)
        from peftstudio.engine.teachers import teacher_from  # lazy: off the start-up path (bench/startup.py)

        try:
            teacher = None
            if recipe_for(self.profile_id) != "text":
                self.progress.emit(0, self.count, "Loading the teacher model")
                teacher = teacher_from(self.teacher)
            result = synthesize(self.documents, teacher, self.profile_id, self.count, self.out,
                                progress=self.progress.emit, cancel=self.cancel, on_row=self.row.emit)
        except Exception as exc:  # noqa: BLE001 - shown as a plain error
            self.failed.emit(from_exception(exc))
            return
        self.done.emit(result)

    def stop(self) -> None:
        self.cancel.set()
