"""The run queue: runs lined up to train one after another, kept in the store so it outlives the app.

Each item holds a whole TrainingConfig (planned when it was added) or, for a sweep's trial, nothing until the
trial is asked for its settings when its turn comes (so Optuna's sampler has seen every earlier trial). An
item's states:

    waiting -> running -> done | failed | stopped | pruned      (or waiting -> skipped: a sweep out of time)

"running" means claimed: the item's run folder is recorded *before* the folder is made, so a process killed at
any point leaves an item that the next start opens again (and resumes from its checkpoint) instead of training
it twice. Only the queue's runner (queue_runner.py, one per data folder at a time) moves items out of waiting.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from peftstudio.engine.errors import PlainError
from peftstudio.engine.history import default_store

WAITING, RUNNING, DONE, FAILED, STOPPED, PRUNED, SKIPPED = \
    "waiting", "running", "done", "failed", "stopped", "pruned", "skipped"
OPEN_STATES = (WAITING, RUNNING)


@dataclass
class QueueItem:
    id: int
    position: float
    state: str
    title: str
    config: dict | None = None  # None: a sweep trial whose settings are chosen when it starts
    annotations: dict = field(default_factory=dict)  # for run.json (profile, version name, continued_from)
    run_dir: str | None = None
    sweep_id: str | None = None
    trial_number: int | None = None
    planned_seconds: float | None = None
    added: str | None = None
    started: str | None = None
    ended: str | None = None
    outcome: dict = field(default_factory=dict)  # final status, summary line, objective

    @classmethod
    def from_row(cls, row) -> "QueueItem":
        data = dict(row)
        for key in ("config", "annotations", "outcome"):
            data[key] = json.loads(data[key]) if data.get(key) else ({} if key != "config" else None)
        return cls(**data)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class ScheduledItem:
    item: QueueItem
    start: float  # seconds since the epoch, estimated from the planner's durations
    end: float


def _now_text() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def not_in_queue(item_id) -> PlainError:
    return PlainError(
        title="No such queued run",
        what=f"The queue has no waiting run number {item_id}.",
        why="It may have started or finished already, or been removed.",
        actions=["List the queue with 'peftstudio queue list'.", "Add the run again with 'peftstudio queue add'."],
        help_topic="runs")


class RunQueue:
    def __init__(self, store=None):
        if store is None:
            store = default_store()
        self.store = store

    # ---- adding and arranging ------------------------------------------------------------------------
    def add(self, config: dict | None, title: str, annotations: dict | None = None,
            planned_seconds: float | None = None, sweep_id: str | None = None) -> QueueItem:
        with self.store.transaction() as db:
            last = db.execute("SELECT max(position) FROM queue").fetchone()[0]
            cursor = db.execute(
                "INSERT INTO queue(position, state, title, config, annotations, sweep_id, planned_seconds, added) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                ((last or 0) + 1, WAITING, title, json.dumps(config) if config is not None else None,
                 json.dumps(annotations or {}), sweep_id, planned_seconds, _now_text()))
            item_id = cursor.lastrowid
        return self.item(item_id)

    def item(self, item_id: int) -> QueueItem | None:
        with self.store.connection() as db:
            row = db.execute("SELECT * FROM queue WHERE id = ?", (int(item_id),)).fetchone()
        return QueueItem.from_row(row) if row else None

    def items(self, include_ended: bool = False, sweep_id: str | None = None) -> list[QueueItem]:
        """Open items in the order they will run (an interrupted one first); ended ones after, oldest first."""
        query, args = "SELECT * FROM queue WHERE 1=1", []
        if not include_ended:
            query += f" AND state IN ({','.join('?' * len(OPEN_STATES))})"
            args += list(OPEN_STATES)
        if sweep_id is not None:
            query, args = query + " AND sweep_id = ?", args + [sweep_id]
        with self.store.connection() as db:
            rows = [QueueItem.from_row(r) for r in db.execute(query, args)]
        order = {RUNNING: 0, WAITING: 1}
        return sorted(rows, key=lambda i: (order.get(i.state, 2), i.position if i.state in order else i.id))

    def remove(self, item_id: int) -> None:
        with self.store.transaction() as db:
            removed = db.execute("DELETE FROM queue WHERE id = ? AND state = ?", (int(item_id), WAITING)).rowcount
        if not removed:
            raise not_in_queue(item_id)

    def move(self, item_id: int, to_place: int) -> None:
        """Put a waiting item at `to_place` (1 = next to run) among the waiting items."""
        waiting = [i for i in self.items() if i.state == WAITING]
        moving = next((i for i in waiting if i.id == int(item_id)), None)
        if moving is None:
            raise not_in_queue(item_id)
        waiting.remove(moving)
        waiting.insert(max(0, min(len(waiting), to_place - 1)), moving)
        with self.store.transaction() as db:
            for position, item in enumerate(waiting, start=1):
                db.execute("UPDATE queue SET position = ? WHERE id = ?", (position, item.id))

    def set_planned_seconds(self, item_id: int, seconds: float) -> None:
        with self.store.transaction() as db:
            db.execute("UPDATE queue SET planned_seconds = ? WHERE id = ?", (seconds, int(item_id)))

    # ---- pausing (a flag any process may set; the runner checks it between steps) --------------------
    def set_paused(self, paused: bool) -> None:
        with self.store.transaction() as db:
            db.execute("INSERT INTO queue_control(key, value) VALUES ('paused', ?) "
                       "ON CONFLICT(key) DO UPDATE SET value = excluded.value", ("1" if paused else "0",))

    def paused(self) -> bool:
        with self.store.connection() as db:
            row = db.execute("SELECT value FROM queue_control WHERE key = 'paused'").fetchone()
        return bool(row) and row[0] == "1"

    # ---- the runner's side ---------------------------------------------------------------------------
    def next_item(self) -> QueueItem | None:
        items = self.items()
        return items[0] if items else None

    def claim(self, item: QueueItem, run_dir: str, config: dict | None = None,
              trial_number: int | None = None) -> QueueItem:
        """Record the item's run folder (before it exists) and its settings: from here it is never started anew."""
        with self.store.transaction() as db:
            db.execute("UPDATE queue SET state = ?, run_dir = ?, config = coalesce(?, config), "
                       "trial_number = coalesce(?, trial_number), started = coalesce(started, ?) WHERE id = ?",
                       (RUNNING, str(run_dir), json.dumps(config) if config is not None else None, trial_number,
                        _now_text(), item.id))
        return self.item(item.id)

    def finish(self, item: QueueItem, state: str, outcome: dict | None = None) -> QueueItem:
        with self.store.transaction() as db:
            db.execute("UPDATE queue SET state = ?, ended = ?, outcome = ? WHERE id = ?",
                       (state, _now_text(), json.dumps(outcome or {}, default=str), item.id))
        return self.item(item.id)

    # ---- when -------------------------------------------------------------------------------------------
    def schedule(self, now: float | None = None, elapsed: dict[int, float] | None = None) -> list[ScheduledItem]:
        """Estimated start and end of every open item: one after another, each taking its planned time (a
        running item its planned time less what it has already run, `elapsed` by item id)."""
        clock = time.time() if now is None else now
        elapsed = elapsed or {}
        items = self.items()
        planned = [i.planned_seconds for i in items if i.planned_seconds]
        typical = sum(planned) / len(planned) if planned else 0.0  # a sweep slot without its own estimate
        scheduled = []
        for item in items:
            duration = item.planned_seconds or typical
            if item.state == RUNNING:
                duration = max(0.0, duration - elapsed.get(item.id, 0.0))
            scheduled.append(ScheduledItem(item, clock, clock + duration))
            clock += duration
        return scheduled
