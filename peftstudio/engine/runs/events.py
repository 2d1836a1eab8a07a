"""`events.jsonl`: the run's append-only record (EventLog writes, read_events reads, EventFollower follows it
as it grows), and the live event stream for listeners.

Every event is one JSON object per line with `type` and `time` (Unix seconds). Types:
metrics, status, anomaly, checkpoint, eval, error, notification, version.
"""
from __future__ import annotations

import json
import threading
import time
from enum import Enum
from pathlib import Path
from typing import Callable, Iterable

from peftstudio.engine.atomic import drop_partial_line
from peftstudio.engine.runs.layout import EVENTS_FILE
from peftstudio.engine.runs.ranks import is_main

Listener = Callable[[dict], None]


class Status(str, Enum):
    CREATED = "created"
    INITIALIZING = "initializing"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    STOPPED = "stopped"


# The seed's state machine: CREATED -> INITIALIZING -> RUNNING <-> PAUSED, ending in COMPLETED/FAILED/STOPPED.
# A paused, stopped or failed run can be resumed (back to INITIALIZING) from its last checkpoint.
TRANSITIONS: dict[Status, set[Status]] = {
    Status.CREATED: {Status.INITIALIZING, Status.FAILED},
    Status.INITIALIZING: {Status.RUNNING, Status.FAILED, Status.STOPPED},
    Status.RUNNING: {Status.PAUSED, Status.COMPLETED, Status.FAILED, Status.STOPPED},
    Status.PAUSED: {Status.INITIALIZING, Status.STOPPED, Status.FAILED},
    Status.FAILED: {Status.INITIALIZING},
    Status.STOPPED: {Status.INITIALIZING},
    Status.COMPLETED: set(),
}


def can_transition(current: Status, new: Status) -> bool:
    return new in TRANSITIONS[current]


class EventLog:
    """Appends events to `events.jsonl` (flushed per line) and hands each to the listeners."""

    def __init__(self, path: Path, listeners: Iterable[Listener] = ()):
        self.path = path
        self.listeners = list(listeners)
        self.writes = is_main()  # under a multi-process launch only rank 0 writes the run's events
        self._lock = threading.Lock()
        self._tail_checked = False

    def emit(self, type_: str, **fields) -> dict:
        event = {"type": type_, "time": time.time(), **fields}
        if self.writes:
            line = json.dumps(event, default=_jsonable)
            with self._lock:
                if not self._tail_checked:
                    drop_partial_line(self.path)
                    self._tail_checked = True
                with open(self.path, "a", encoding="utf-8") as handle:
                    handle.write(line + "\n")
        for listener in list(self.listeners):
            listener(event)
        return event

class EventFollower:
    """Reads the new complete lines of a growing events.jsonl (a partial last line waits for its end)."""

    def __init__(self, path: Path, from_end: bool = True):
        self.path = Path(path)
        self.offset = self.path.stat().st_size if from_end and self.path.exists() else 0
        self._pending = b""

    def read_new(self) -> list[dict]:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                chunk = handle.read()
        except FileNotFoundError:
            return []
        self.offset += len(chunk)
        lines = (self._pending + chunk).split(b"\n")
        self._pending = lines.pop()  # b"" when the chunk ended with a newline
        events = []
        for line in lines:
            try:
                events.append(json.loads(line))
            except ValueError:
                continue
        return events


def last_status(path: Path) -> str | None:
    """The status of the run whose events.jsonl this is (None before its first status event)."""
    statuses = [e["status"] for e in read_events(path) if e.get("type") == "status"]
    return statuses[-1] if statuses else None


def run_events(run_dir: str | Path) -> list[dict]:
    """Every complete event of the run in that folder (read-only: the windows replay a run with it)."""
    return read_events(Path(run_dir) / EVENTS_FILE)


def read_events(path: Path) -> list[dict]:
    """Every complete event of a run; a last line cut short by a crash is skipped."""
    if not path.exists():
        return []
    events = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return events


def _jsonable(value):
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    return str(value)
