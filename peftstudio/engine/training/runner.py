"""Runner: the one place that decides how a run trains, and what both faces call.

    runner = Runner(session, on_event)          # on_event gets every event of the run, whichever way it trains
    status = runner.run()                        # blocks until completed, paused, stopped or failed
    runner.pause() / runner.stop()               # from any thread

One device (and not forced): the session trains in this process and hands its events to `on_event`.
Several devices (or `force_launch`, e.g. `--processes 1` to reproduce a cluster run): the unchanged
`peftstudio train --resume RUN` is started under `accelerate launch` (launcher.py), and its events.jsonl is
followed, so `on_event` cannot tell the difference; pause and stop reach the processes through the run
folder's control file. The CLI's progress bar and the GUI's worker are both just an `on_event`.
"""
from __future__ import annotations

from typing import Callable

from peftstudio.engine.errors import PlainError
from peftstudio.engine.training import launcher
from peftstudio.engine.runs.events import Status, last_status


def needs_launch(config, force_launch: bool = False) -> bool:
    """Several processes are launched unless this process already is one of them (a rank)."""
    return (config.num_processes > 1 or force_launch) and not launcher.launched_here()


class Runner:
    def __init__(self, session, on_event: Callable[[dict], None] | None = None, force_launch: bool = False):
        self.session = session
        self.on_event = on_event or (lambda event: None)
        self.launches = needs_launch(session.config, force_launch)
        self.launched: launcher.LaunchedRun | None = None
        self.exit_code: int | None = None
        self._last_error: dict | None = None

    # ---- running ------------------------------------------------------------------------------------
    def run(self) -> Status:
        if not self.launches:
            listeners = self.session.events.listeners
            listeners.append(self.on_event)
            try:
                return self.session.run()
            finally:
                listeners.remove(self.on_event)
        self._last_error = None
        self.launched = launcher.start(self.session.run_dir, self.session.config)  # PlainError if it cannot
        self.exit_code = self.launched.wait(self._follow)
        status = last_status(self.session.folder.events_file)
        # processes that ended while their run says it is still going crashed without a word
        if status in (None, "created", "initializing", "running"):
            return Status.FAILED
        return Status(status)

    def _follow(self, event: dict) -> None:
        if event["type"] == "error":
            self._last_error = event
        self.on_event(event)

    # ---- controls (any thread) ---------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.launched is not None and self.launched.running()

    def pause(self) -> None:
        if not self.launches:
            self.session.pause()
        elif self.running:
            self.launched.pause()

    def stop(self) -> None:
        if not self.launches:
            self.session.stop()
        elif self.running:
            self.launched.stop()
        else:  # nothing is training (paused, or never started): end the run here
            self.session.reload_status()
            self.session.stop()

    def kill(self) -> None:
        """A second Ctrl+C: the launched processes end at once (their last checkpoint stays)."""
        if self.running:
            self.launched.kill()

    # ---- results ------------------------------------------------------------------------------------
    @property
    def summary(self) -> dict:
        return dict(self.session.summary) if not self.launches else \
            dict(self.session.folder.info().get("summary") or {})

    @property
    def error(self) -> PlainError | None:
        if not self.launches:
            return self.session.error
        if self._last_error is not None:
            return PlainError(**{k: self._last_error[k] for k in ("title", "what", "why", "actions")},
                              help_topic="runs")
        return PlainError(
            title="The training processes stopped",
            what=f"The launched processes ended with exit code {self.exit_code} before the run finished.",
            why="One of the processes failed to start or crashed (its output is in launcher.log).",
            actions=["Open launcher.log in the run folder to see what went wrong.",
                     "Resume the run; it continues from its last checkpoint."],
            help_topic="runs")
