"""A sweep's trials side by side, its best trial, and "Keep the best" (the winner becomes the version)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from peftstudio.engine.errors import PlainError
from peftstudio.engine.history.versions import create_version, versions_record
from peftstudio.engine.runs.folder import RunFolder
from peftstudio.engine.runs.index import read_run_info
from peftstudio.engine.training.run_queue import RunQueue
from peftstudio.engine.training.sweep import SweepPlan, _store, study, sweep_plan


@dataclass
class TrialResult:
    number: int | None  # None: a slot whose turn has not come
    state: str  # the queue's: waiting, running, done, pruned, failed, stopped, skipped
    params: dict = field(default_factory=dict)
    value: float | None = None  # the objective
    run_dir: str | None = None
    intermediate: dict = field(default_factory=dict)  # step -> validation loss reported to the pruner
    planned_seconds: float | None = None
    seconds: float | None = None  # from its start to its end in the queue

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class SweepResults:
    sweep_id: str
    plan: SweepPlan
    trials: list[TrialResult]
    best: TrialResult | None
    wall_seconds: float | None  # the first trial's start to the last one's end
    kept_run: str | None = None

    @property
    def planned_seconds(self) -> float:
        return sum(t.planned_seconds or 0 for t in self.trials if t.state != "skipped")

    @property
    def finished(self) -> bool:
        return all(t.state not in ("waiting", "running") for t in self.trials)

    def to_dict(self) -> dict:
        return {"sweep": self.sweep_id, "title": self.plan.title, "objective": self.plan.objective,
                "direction": self.plan.direction, "sampler": self.plan.sampler,
                "varied": [d.describe() for d in self.plan.dimensions],
                "trials": [t.to_dict() for t in self.trials], "best": self.best.to_dict() if self.best else None,
                "wall_seconds": self.wall_seconds, "planned_seconds": self.planned_seconds,
                "finished": self.finished, "kept_run": self.kept_run}


def _seconds(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def results(sweep_id: str, store=None) -> SweepResults:
    store = _store(store)
    plan = sweep_plan(sweep_id, store)
    trials_by_number = {t.number: t for t in study(sweep_id, store).get_trials(deepcopy=False)}
    items = sorted(RunQueue(store).items(include_ended=True, sweep_id=sweep_id), key=lambda i: i.id)
    trials = []
    for item in items:
        frozen = trials_by_number.get(item.trial_number)
        value = frozen.value if frozen is not None and frozen.state.name == "COMPLETE" else None
        trials.append(TrialResult(item.trial_number, item.state, dict(frozen.params) if frozen else {}, value,
                                  item.run_dir, dict(frozen.intermediate_values) if frozen else {},
                                  item.planned_seconds, _seconds(item.started, item.ended)))
    scored = [t for t in trials if t.value is not None]
    best = None
    if scored:
        best = (min if plan.direction == "minimize" else max)(scored, key=lambda t: t.value)
    starts = [i.started for i in items if i.started]
    ends = [i.ended for i in items if i.ended]
    wall = _seconds(min(starts), max(ends)) if starts and ends else None
    with store.connection() as db:
        kept = db.execute("SELECT kept_run FROM sweeps WHERE id = ?", (sweep_id,)).fetchone()[0]
    return SweepResults(sweep_id, plan, trials, best, wall, kept)


def keep_best(sweep_id: str, store=None) -> dict:
    """The best trial's run becomes a version of the model (trials are not versions until one is kept)."""
    store = _store(store)
    found = results(sweep_id, store)
    if found.best is None:
        raise PlainError(
            title="No trial of this sweep has finished yet",
            what=f"{found.plan.title} has no completed trial to keep.",
            why="A trial is kept once it trained to the end; pruned and failed trials have no final result.",
            actions=["Wait for the queue to run the sweep's trials.", "Start the queue if it is paused."],
            help_topic="sweeps")
    run_dir = Path(found.best.run_dir)
    info = read_run_info(run_dir)
    config = RunFolder(run_dir).config()
    version = create_version(store, run_dir, config, info.get("summary") or {}, model_name=info.get("version_name"))
    updated = RunFolder(run_dir).update_info(version_record=versions_record(version),
                                             summary={**(info.get("summary") or {}),
                                                      "version": f"{version['model_name']} v{version['version']}"})
    store.upsert_run(updated, run_dir, config.to_dict())
    with store.transaction() as db:
        db.execute("UPDATE sweeps SET kept_run = ? WHERE id = ?", (run_dir.name, sweep_id))
    return version
