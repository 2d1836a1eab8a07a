"""The training worker: a QThread that runs the engine's session and turns its events into Qt signals.

The UI thread never waits on training: pause and stop only set the engine's flags (honoured at the
next step), resume starts the thread again, which continues from the pause checkpoint.
"""
from __future__ import annotations

from PySide6.QtCore import QThread, Signal

from peftstudio.engine.training.session import TrainingSession


class TrainingWorker(QThread):
    event = Signal(dict)  # every event
    metrics = Signal(dict)
    status_changed = Signal(str)
    anomaly = Signal(dict)
    checkpoint = Signal(dict)
    notification = Signal(dict)
    completed = Signal(dict)  # the run summary
    failed = Signal(object)  # the PlainError

    def __init__(self, session: TrainingSession, parent=None):
        super().__init__(parent)
        self.session = session
        session.events.listeners.append(self._forward)

    def _forward(self, event: dict) -> None:  # called on the training thread; signals queue to the UI
        self.event.emit(event)
        kind = event["type"]
        if kind == "metrics":
            self.metrics.emit(event)
        elif kind == "status":
            self.status_changed.emit(event["status"])
        elif kind in ("anomaly", "checkpoint", "notification"):
            getattr(self, kind).emit(event)

    def run(self) -> None:
        from peftstudio.engine.training.events import Status

        status = self.session.run()
        if status == Status.COMPLETED:
            self.completed.emit(dict(self.session.summary))
        elif status == Status.FAILED:
            self.failed.emit(self.session.error)

    def pause(self) -> None:
        self.session.pause()

    def stop(self) -> None:
        self.session.stop()

    def resume(self) -> None:
        if not self.isRunning():
            self.start()
