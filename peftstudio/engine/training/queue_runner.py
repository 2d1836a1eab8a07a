"""The queue's runner: trains the queued runs one after another, and picks up where a killed one stopped.

    runner = QueueRunner(on_event=..., on_item=...)   # on_item("started" | "ended" | "done", item)
    runner.run()                                       # until the queue is empty or paused
    runner.pause()                                     # any thread: the current run checkpoints, the queue stops

One runner per data folder at a time (an operating-system lock, so a crash never leaves it held): one run on
the device at a time; a run planned for several GPUs launches across them through the Runner. The runner
starts with the item left "running" by a process that ended without finishing it (killed, crashed, the app
closed): its run folder is opened and resumes from its last checkpoint, a run that had already completed is
only marked done; nothing is trained twice. `peftstudio queue pause` (another process) sets the queue's
paused flag, which the runner reads between steps.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Callable

from peftstudio.engine import paths
from peftstudio.engine.config import TrainingConfig
from peftstudio.engine.errors import PlainError, from_exception
from peftstudio.engine.runs import RunFolder, lock as run_lock
from peftstudio.engine.runs.events import Status
from peftstudio.engine.training.run_queue import DONE, FAILED, RUNNING, SKIPPED, STOPPED, QueueItem, RunQueue
from peftstudio.engine.training.runner import Runner

FLAG_CHECK_SECONDS = 1.0  # how often a running queue looks at its paused flag (one small SQLite read)
_guard = threading.Lock()
_running_here = False  # one runner per process too (the lock below is shared inside a process)


def queue_busy() -> PlainError:
    return PlainError(
        title="The queue is already running",
        what="Another PEFT Studio window or command is working through the queue right now.",
        why="The queued runs train one at a time, so that two runs never share the device.",
        actions=["Switch to the window or terminal that runs the queue.",
                 "Add runs with 'peftstudio queue add'; the running queue takes them in turn."],
        help_topic="queue")


def queue_running_elsewhere() -> bool:
    """True when another process holds the queue (the home page shows it as running, not startable)."""
    return run_lock.is_locked_elsewhere(_lock_folder())


def _lock_folder() -> Path:
    folder = paths.data_dir() / "queue"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class QueueRunner:
    def __init__(self, queue: RunQueue | None = None, on_event: Callable[[dict, QueueItem], None] | None = None,
                 on_item: Callable[[str, QueueItem | None], None] | None = None):
        self.queue = queue or RunQueue()
        self.on_event = on_event or (lambda event, item: None)
        self.on_item = on_item or (lambda phase, item: None)
        self.current: QueueItem | None = None
        self.runner: Runner | None = None
        self.started_at: float | None = None  # when the current item began training in this process
        self._pause = threading.Event()
        self._next_flag_check = 0.0

    # ---- controls (any thread) ------------------------------------------------------------------------
    def pause(self) -> None:
        """The current run pauses at its next step (checkpoint first) and the queue waits for a start."""
        self._pause.set()
        if self.runner is not None:
            self.runner.pause()

    def skip_current(self) -> None:
        """Stop the current run (it keeps its last checkpoint) and go on with the next one."""
        if self.runner is not None:
            self.runner.stop()

    # ---- the loop -------------------------------------------------------------------------------------
    def run(self) -> list[QueueItem]:
        """Train queued runs until the queue is empty or paused; returns the items that ended here."""
        global _running_here
        with _guard:
            if _running_here:
                raise queue_busy()
            _running_here = True
        try:
            try:
                lock = run_lock.lock_run(_lock_folder())
            except PlainError:
                raise queue_busy() from None
            try:
                return self._loop()
            finally:
                lock.release()
        finally:
            with _guard:
                _running_here = False

    def _loop(self) -> list[QueueItem]:
        ended = []
        self._pause.clear()
        while not self._pause.is_set() and not self.queue.paused():
            item = self.queue.next_item()
            if item is None:
                self.on_item("done", None)
                break
            result = self._run_item(item)
            if result is None:  # paused: the item stays claimed and resumes first at the next start
                break
            ended.append(result)
            self.on_item("ended", result)
        self.current = self.runner = None
        return ended

    def _run_item(self, item: QueueItem) -> QueueItem | None:
        from peftstudio.engine.training.session import new_run_dir  # lazy: off the start-up path (bench/startup.py)

        observer = None
        try:
            if item.run_dir is None:  # first start: settings (a sweep's trial asks for them now) and a folder
                item = self._claim(item, new_run_dir)
                if item.state != RUNNING:
                    return item
            if item.sweep_id:
                # lazy: off the start-up path (bench/startup.py)
                from peftstudio.engine.training.sweep import TrialObserver

                observer = TrialObserver(item.sweep_id, item.trial_number, self.queue.store)
            session = self._session(item)
        except PlainError as error:
            if error.title in (queue_busy().title, run_lock.run_in_use(Path(".")).title):
                raise  # not the run's fault: the queue stops and says why
            return self.queue.finish(item, FAILED, {"status": "failed", "reason": error.title})
        except Exception as exc:  # noqa: BLE001 - a broken item fails alone; the queue goes on
            return self.queue.finish(item, FAILED, {"status": "failed",
                                                    "reason": from_exception(exc, None).title})
        if session.status == Status.COMPLETED:  # finished before the last process died: mark it, train nothing
            return self._ended(item, Status.COMPLETED, session, observer)
        self.current, self.started_at = item, time.time()
        self.on_item("started", item)

        def follow(event: dict) -> None:
            self.on_event(event, item)
            if observer is not None and observer.on_event(event):
                self.runner.stop()  # pruned: the trial is clearly behind the others
            if time.monotonic() >= self._next_flag_check:
                self._next_flag_check = time.monotonic() + FLAG_CHECK_SECONDS
                if self.queue.paused():
                    self.pause()

        self.runner = Runner(session, follow)
        if self._pause.is_set():  # paused while the model was being opened
            self.runner.pause()
        status = self.runner.run()
        if status == Status.PAUSED:
            session.close()
            return None
        return self._ended(item, status, session, observer)

    def _claim(self, item: QueueItem, new_run_dir) -> QueueItem:
        if item.sweep_id:
            # lazy: off the start-up path (bench/startup.py)
            from peftstudio.engine.training.sweep import ask_trial, out_of_time

            if out_of_time(item.sweep_id, self.queue.store):
                return self.queue.finish(item, SKIPPED, {"reason": "The sweep's time budget was used up."})
            number, config = ask_trial(item.sweep_id, self.queue.store)
            return self.queue.claim(item, str(new_run_dir(config)), config.to_dict(), number)
        config = TrainingConfig.from_dict(item.config)
        return self.queue.claim(item, str(new_run_dir(config)))

    def _session(self, item: QueueItem):
        from peftstudio.engine.training.session import TrainingSession  # lazy: off the start-up path (bench/startup.py)

        run_dir = Path(item.run_dir)
        if RunFolder(run_dir).is_run():  # made before the last process ended: resume it
            return TrainingSession.open(run_dir)
        session = TrainingSession.create(TrainingConfig.from_dict(item.config), run_dir)
        annotations = {**item.annotations, "queue_item": item.id}
        if item.sweep_id:
            annotations["sweep"] = {"id": item.sweep_id, "trial": item.trial_number}
        session.annotate(**annotations)
        return session

    def _ended(self, item: QueueItem, status: Status, session, observer) -> QueueItem:
        summary = dict(session.summary or session.folder.info().get("summary") or {})
        outcome = {"status": status.value, "final_loss": summary.get("final_loss"),
                   "final_eval_loss": summary.get("final_eval_loss"), "version": summary.get("version")}
        if status == Status.FAILED and session.error is not None:
            outcome["reason"] = session.error.title
        state = {Status.COMPLETED: DONE, Status.STOPPED: STOPPED}.get(status, FAILED)
        if observer is not None:
            try:
                state, extra = observer.finish(status.value, summary, session.run_dir)
            except Exception as exc:  # noqa: BLE001 - e.g. the task metric could not be measured
                state, extra = FAILED, {"reason": from_exception(exc, session.run_dir).title}
            outcome.update(extra)
            session.folder.update_info(sweep={"id": item.sweep_id, "trial": item.trial_number, "state": state,
                                              "objective": extra.get("objective")})
        session.close()
        return self.queue.finish(item, state, outcome)
