"""The queue's worker: a QThread that runs the engine's QueueRunner and turns what it does into Qt signals.

`QueuedRun` is one queued run seen by a dashboard: it has the training worker's `event` signal and its pause,
resume and stop, so the dashboard shows a queued run exactly as one launched from the wizard (pause pauses the
queue; stop ends this run and the queue goes on with the next).
"""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from PySide6.QtCore import QObject, QThread, Signal

from peftstudio.engine.errors import from_exception
from peftstudio.engine.training import QueueRunner


def collect_garbage_here() -> None:
    """Collect unreachable objects now, on the UI thread. Training calls gc.collect() on its own thread (accelerate
    frees memory that way); closed windows waiting there to be collected would then be destroyed off the UI thread,
    which Qt does not survive."""
    import gc

    gc.collect()


class QueueWorker(QThread):
    run_event = Signal(dict, int)  # an event of the current run, and its queue item's id
    item_started = Signal(object)  # QueueItem
    item_ended = Signal(object)
    queue_done = Signal()
    failed = Signal(object)  # PlainError (e.g. another window runs the queue)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.runner = QueueRunner(on_event=lambda event, item: self.run_event.emit(event, item.id),
                                  on_item=self._on_item)

    def _on_item(self, phase: str, item) -> None:  # on the queue's thread; the signals queue to the UI
        if phase == "started":
            self.item_started.emit(item)
        elif phase == "ended":
            self.item_ended.emit(item)
        else:
            self.queue_done.emit()

    def run(self) -> None:
        try:
            self.runner.run()
        except Exception as exc:  # noqa: BLE001 - shown as a plain error
            self.failed.emit(from_exception(exc))

    def start_queue(self) -> None:
        """Go on with the queue (clears a pause asked for here or by 'peftstudio queue pause')."""
        if not self.isRunning():
            self.runner.queue.set_paused(False)
            collect_garbage_here()
            self.start()

    def pause(self, by_user: bool = True) -> None:
        """The current run checkpoints and the queue stops. A pause by the user is remembered (the queue waits
        for Start after a restart too); closing the app is not one: the next start goes on by itself."""
        if by_user:
            self.runner.queue.set_paused(True)
        self.runner.pause()

    @property
    def current(self):
        return self.runner.current


class QueuedRun(QObject):
    """What a dashboard needs of a worker, for the queued run `item` while the queue trains it."""

    event = Signal(dict)

    def __init__(self, queue_worker: QueueWorker, item, parent=None):
        super().__init__(parent)
        self.queue_worker, self.item_id = queue_worker, item.id
        self.session = SimpleNamespace(run_dir=Path(item.run_dir))
        queue_worker.run_event.connect(self._forward)

    def _forward(self, event: dict, item_id: int) -> None:
        if item_id == self.item_id:
            self.event.emit(event)

    def pause(self) -> None:
        self.queue_worker.pause()

    def resume(self) -> None:
        self.queue_worker.start_queue()

    def stop(self) -> None:
        if self.queue_worker.current is not None and self.queue_worker.current.id == self.item_id:
            self.queue_worker.runner.skip_current()
