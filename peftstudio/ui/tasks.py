"""Running engine calls off the UI thread: the result (or a plain error) comes back as a Qt signal."""
from __future__ import annotations

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from peftstudio.engine.errors import from_exception


class _Signals(QObject):
    finished = Signal(object)
    failed = Signal(object)  # a PlainError
    progress = Signal(str)  # what the work is doing now, for waits longer than a second


class Task(QRunnable):
    def __init__(self, fn, *args, **kwargs):
        super().__init__()
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.signals = _Signals()

    def run(self):
        try:
            result = self.fn(*self.args, **self.kwargs)
        except Exception as exc:  # noqa: BLE001 - shown to the user as a plain error
            self._emit(self.signals.failed, from_exception(exc))
            return
        self._emit(self.signals.finished, result)

    @staticmethod
    def _emit(signal, value) -> None:
        try:
            signal.emit(value)
        except RuntimeError:  # the window that asked was closed (its signals deleted): nobody is left to tell
            pass


def run_in_background(fn, *args, on_done=None, on_error=None, on_progress=None, **kwargs) -> Task:
    """Run fn off the UI thread; with `on_progress`, fn gets a `progress(message)` keyword to report through."""
    task = Task(fn, *args, **kwargs)
    if on_progress is not None:
        task.kwargs["progress"] = task.signals.progress.emit
        task.signals.progress.connect(on_progress)
    if on_done is not None:
        task.signals.finished.connect(on_done)
    if on_error is not None:
        task.signals.failed.connect(on_error)
    QThreadPool.globalInstance().start(task)
    return task
