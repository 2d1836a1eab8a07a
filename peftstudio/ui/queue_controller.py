"""The app's side of the queue: adds runs, starts and pauses the queue's worker, opens each queued run's dashboard,
notifies when a run and the whole queue end, and opens a sweep's results when its last trial ends."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal

from peftstudio.engine.training import queue_running_elsewhere


class QueueController(QObject):
    sweep_finished = Signal(str)  # every trial of this sweep has ended
    run_ended = Signal(object)  # QueueItem

    def __init__(self, panel, notifier, open_dashboard, parent=None, training_elsewhere=lambda: False):
        super().__init__(parent)
        self.training_elsewhere = training_elsewhere  # a run launched directly is training in this window
        self.queue = panel.queue  # the one the home page shows
        self.panel, self.notifier, self.open_dashboard = panel, notifier, open_dashboard
        self.worker = None
        self.dashboards = {}  # queue item id -> its run's dashboard
        panel.start_requested.connect(self.start)
        panel.pause_requested.connect(self.pause)

    @property
    def running(self) -> bool:
        return self.worker is not None and self.worker.isRunning()

    def add(self, config, title: str, annotations: dict | None = None, planned_seconds: float | None = None):
        item = self.queue.add(config.to_dict(), title, annotations, planned_seconds)
        self.panel.refresh()
        return item

    def add_estimated(self, config, annotations: dict | None = None, title: str | None = None):
        """Queue a run whose planned time is not known yet: the planner estimates it off the UI thread."""
        from peftstudio.engine.planning import planned_seconds  # lazy: off the start-up path (bench/startup.py)
        from peftstudio.ui.tasks import run_in_background  # lazy: off the start-up path (bench/startup.py)

        item = self.add(config, title or f"{config.model_name.split('/')[-1]} on {Path(config.dataset_path).name}",
                        annotations)
        run_in_background(planned_seconds, config, on_done=lambda seconds: self._planned(item.id, seconds))
        return item

    def _planned(self, item_id, seconds) -> None:
        import shiboken6  # the estimate can land after the window closed; a deleted panel has nothing to refresh

        self.queue.set_planned_seconds(item_id, seconds)
        if shiboken6.isValid(self.panel) and shiboken6.isValid(self.panel.table):
            self.panel.refresh()

    def start(self) -> None:
        from peftstudio.ui.queue_worker import QueueWorker  # lazy: off the start-up path (bench/startup.py)

        if self.running:
            return
        if self.training_elsewhere():
            self.notifier.notify({"title": "Queue", "message": "A run is training now; start the queue when it has "
                                                               "ended (one run on the device at a time)."})
            return
        if queue_running_elsewhere():
            self.notifier.notify({"title": "Queue", "message": "Another PEFT Studio window or command is running "
                                                               "the queue; its runs train there."})
            return
        self.worker = QueueWorker(self)
        self.worker.item_started.connect(self._started)
        self.worker.item_ended.connect(self._ended)
        self.worker.queue_done.connect(self._done)
        # bound methods, not lambdas: these signals come from the queue's thread, and only a receiver that lives
        # in the UI thread makes Qt deliver them there
        self.worker.failed.connect(self._failed)
        self.worker.finished.connect(self._stopped)
        self.panel.set_running(True)
        self.worker.start_queue()

    def pause(self, by_user: bool = True) -> None:
        if self.running:
            self.worker.pause(by_user)

    def resume_interrupted(self) -> bool:
        """After a crash, a reboot or closing the app during a run: go on by itself (not after a user's pause)."""
        interrupted = any(i.state == "running" for i in self.queue.items())
        if interrupted and not self.queue.paused() and not queue_running_elsewhere():
            self.start()
            return True
        return False

    def wait(self) -> None:
        if self.worker is not None:
            self.worker.wait()

    def _started(self, item) -> None:
        from peftstudio.ui.queue_worker import QueuedRun  # lazy: off the start-up path (bench/startup.py)

        self.panel.set_running(True, item)
        handle = QueuedRun(self.worker, item, self)
        self.dashboards[item.id] = self.open_dashboard(handle, item)

    def _ended(self, item) -> None:
        self.panel.set_running(True, None)
        words = {"done": "finished", "pruned": "was stopped early (pruned)", "failed": "failed",
                 "stopped": "was stopped", "skipped": "was skipped"}
        detail = item.outcome.get("reason") or item.outcome.get("version") or ""
        self.notifier.notify({"title": "Queued run ended", "message": f"{item.title} {words.get(item.state, item.state)}"
                              + (f": {detail}" if detail else ""), "urgent": item.state == "failed"})
        self.run_ended.emit(item)
        dashboard = self.dashboards.get(item.id)
        if dashboard is not None and item.run_dir:  # a trial's ending (pruned) is known once the queue records it
            dashboard.sweep_note.show_for(item.run_dir)
        if item.sweep_id and not self.queue.items(sweep_id=item.sweep_id):
            self.sweep_finished.emit(item.sweep_id)

    def _failed(self, error) -> None:
        self.notifier.notify({"title": error.title, "message": error.what, "urgent": True})

    def _stopped(self) -> None:
        self.panel.set_running(False)

    def _done(self) -> None:
        self.panel.set_running(False)
        self.notifier.notify({"title": "Queue done", "message": "Every queued run has ended."})
