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


class LaunchedTrainingWorker(TrainingWorker):
    """The same signals for a run trained by several processes (accelerate launch, one per GPU).

    The processes write the run folder; this thread follows its events.jsonl every 0.2 s (a read of
    nothing new is one stat) and forwards each event, so the dashboard cannot tell the difference.
    Pause and stop go to the processes through the run folder's control file.
    """

    def __init__(self, session: TrainingSession, parent=None):
        super().__init__(session, parent)
        session.events.listeners.remove(self._forward)  # events come from the processes, not this session
        self.launched = None

    def run(self) -> None:

        from peftstudio.engine.errors import PlainError, from_exception
        from peftstudio.engine.training import launcher

        try:
            self.launched = launcher.start(self.session.run_dir, self.session.config)
        except Exception as exc:  # noqa: BLE001 - accelerate missing, bad configuration...
            self.failed.emit(from_exception(exc, self.session.run_dir))
            return
        error = None

        def forward(event: dict) -> None:
            nonlocal error
            if event["type"] == "error":
                error = event
            self._forward(event)

        code = self.launched.wait(forward)
        status = launcher.final_status(self.session.run_dir)
        if status == "completed":
            self.completed.emit(dict(self.session.folder.info().get("summary", {})))
        elif status not in ("paused", "stopped"):
            if error is not None:
                fields = {k: error[k] for k in ("title", "what", "why", "actions")}
                self.failed.emit(PlainError(**fields))
            else:
                self.failed.emit(PlainError(
                    title="The training processes stopped",
                    what=f"The launched processes ended with exit code {code} before the run finished.",
                    why="One of the processes failed to start or crashed (its output is in launcher.log).",
                    actions=["Open launcher.log in the run folder to see what went wrong.",
                             "Resume the run; it continues from its last checkpoint."],
                    help_topic="runs"))

    def pause(self) -> None:
        if self.launched is not None and self.launched.running():
            self.launched.pause()

    def stop(self) -> None:
        if self.launched is not None and self.launched.running():
            self.launched.stop()
        else:
            from peftstudio.engine.training.events import Status
            from peftstudio.engine.training.session import TrainingSession

            session = TrainingSession.open(self.session.run_dir)
            if session.status == Status.PAUSED:
                session.stop()
                self.status_changed.emit(Status.STOPPED.value)


def worker_for(session: TrainingSession, parent=None) -> TrainingWorker:
    """In this process for one device; launched processes followed through the run folder for several."""
    if session.config.num_processes > 1:
        return LaunchedTrainingWorker(session, parent)
    return TrainingWorker(session, parent)
