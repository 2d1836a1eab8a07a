"""The training worker: a QThread that runs the engine's Runner and turns its events into Qt signals.

The Runner decides whether the run trains in this process or in launched processes (several GPUs); either
way its events arrive here and become signals, so the dashboard cannot tell the difference. The UI thread
never waits on training: pause and stop only ask the runner (honoured at the next step), and resume starts
the thread again, which continues from the pause checkpoint.
"""
from __future__ import annotations

from PySide6.QtCore import QThread, Signal

from peftstudio.engine.errors import from_exception
from peftstudio.engine.runs import Status
from peftstudio.engine.training import Runner, TrainingSession


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
        self.runner = Runner(session, self._forward)

    @property
    def launches(self) -> bool:
        return self.runner.launches

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
        try:
            status = self.runner.run()
        except Exception as exc:  # noqa: BLE001 - accelerate missing, a one-file build, bad settings...
            self.failed.emit(from_exception(exc, self.session.run_dir))
            return
        if status == Status.COMPLETED:
            self.completed.emit(self.runner.summary)
        elif status == Status.FAILED:
            self.failed.emit(self.runner.error)

    def pause(self) -> None:
        self.runner.pause()

    def stop(self) -> None:
        was_training = self.isRunning()
        self.runner.stop()
        if not was_training and self.session.status == Status.STOPPED:
            self.status_changed.emit(Status.STOPPED.value)

    def resume(self) -> None:
        if not self.isRunning():
            self.start()


def worker_for(session: TrainingSession, parent=None) -> TrainingWorker:
    """The worker for a run; its Runner trains in this process or launches one process per device."""
    return TrainingWorker(session, parent)
