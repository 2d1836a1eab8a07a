"""Sweeps: try several settings through the queue and keep the best, with Optuna doing the search.

    plan = plan_sweep(base_config, parse_vary("lr=1e-4:5e-4:log,lora_r=8,16"), trials=6)  # checked budget
    sweep_id = create_sweep(plan)            # an Optuna study in our SQLite file + one queue slot per trial
    ... the queue runs the slots: each asks the study for its settings when its turn comes (ask_trial), and a
    TrialObserver feeds the run's validation losses to Optuna's pruner and tells the study the result ...
    results(sweep_id); keep_best(sweep_id)   # the comparison, and the best trial made the version

Optuna keeps the trials (parameters, intermediate values, states) in its own tables of the store's database
file; our `sweeps` table keeps what Optuna does not: the base settings, the search space, the sampler and the
budget. Samplers and pruners are Optuna's own (grid, random, TPE; the median pruner).
"""
from __future__ import annotations

import json
import math
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from peftstudio.engine.config import TrainingConfig
from peftstudio.engine.errors import PlainError
from peftstudio.engine.evaluation import METRICS, evaluate_run, metrics_for, save_scorecard
from peftstudio.engine.history import default_store
from peftstudio.engine.planning import dataset_summary, format_duration, planned_seconds
from peftstudio.engine.training.run_queue import DONE, FAILED, PRUNED, RunQueue, STOPPED
from peftstudio.engine.training.sweep_space import Dimension, grid_points, grid_size

SAMPLERS = ("grid", "random", "tpe")
OBJECTIVES = {"val-loss": "validation loss", "task-metric": "the scorecard's task metric"}
MAX_TRIALS = 100  # an hours budget on a fast machine could fit thousands; TPE has long converged by then
TASK_METRIC_LIMIT = 32  # held-back examples the scorecard answers per trial (the whole card would be slow)


@dataclass
class SweepPlan:
    base_config: dict
    dimensions: list[Dimension]
    sampler: str
    trials: int
    trial_seconds: float  # the planner's expected time of one trial (the mean over the grid's corners)
    hours: float | None = None
    objective: str = "val-loss"
    direction: str = "minimize"
    seed: int = 0
    title: str = ""
    annotations: dict = field(default_factory=dict)

    @property
    def planned_seconds(self) -> float:
        return self.trials * self.trial_seconds

    def to_dict(self) -> dict:
        return {**{k: v for k, v in self.__dict__.items() if k != "dimensions"},
                "dimensions": [d.to_dict() for d in self.dimensions]}

    @classmethod
    def from_dict(cls, data: dict) -> "SweepPlan":
        return cls(**{**data, "dimensions": [Dimension.from_dict(d) for d in data["dimensions"]]})


def budget_too_small(trial_seconds: float, hours: float) -> PlainError:
    return PlainError(
        title="Not even one trial fits in that time",
        what=f"One trial takes about {format_duration(trial_seconds)}, and the budget is {hours:g} hours.",
        why="The planner's estimate for this model, dataset and machine is longer than the budget.",
        actions=["Give the sweep more hours, or a number of trials instead.",
                 "Train fewer steps per trial (fewer epochs, or a maximum number of steps)."],
        help_topic="sweeps")


def objective_direction(objective: str, profile_id: str | None) -> str:
    if objective == "val-loss":
        return "minimize"

    return "maximize" if METRICS[metrics_for(profile_id)[0]].higher_is_better else "minimize"


def trial_config(base_config: dict, params: dict) -> TrainingConfig:
    return TrainingConfig().merged({**base_config, **params})


def plan_sweep(base_config: dict, dimensions: list[Dimension], sampler: str = "tpe", trials: int | None = None,
               hours: float | None = None, objective: str = "val-loss", seed: int = 0, title: str = "",
               annotations: dict | None = None) -> SweepPlan:
    """Check the sweep against the planner before anything is queued: how long a trial takes, how many fit."""
    base = TrainingConfig().merged(base_config)
    base.check()
    if objective not in OBJECTIVES:
        raise ValueError(f"unknown objective {objective}")
    if objective == "val-loss" and (base.eval_strategy == "no" or not base.validation_split):
        raise PlainError(
            title="A sweep on validation loss needs held-back examples",
            what="The settings hold back no examples, so there is no validation loss to compare trials by.",
            why="Each trial is judged on examples it did not train on; the training loss rewards memorising.",
            actions=["Set 'Held-back share' above 0 and 'Evaluate' to every N steps.",
                     "Choose the scorecard's task metric as the objective instead."],
            help_topic="sweeps")
    # enough grid points to see how epochs or batch change a trial's time
    corners = [trial_config(base_config, point) for point in grid_points(dimensions)[:64]]
    for corner in corners:
        corner.check()  # a value that no trial could train with is refused here
    data = dataset_summary(Path(base.dataset_path), base.model_path or base.model_name, base.column_mapping or None)
    trial_seconds = sum(planned_seconds(corner, data) for corner in corners) / len(corners)
    count = trials
    if hours is not None:
        fits = math.floor(hours * 3600 / trial_seconds)
        if fits < 1:
            raise budget_too_small(trial_seconds, hours)
        count = min(count, fits) if count else fits
    if not count:
        count = min(grid_size(dimensions), 8)
    count = min(count, MAX_TRIALS)
    if sampler == "grid":
        count = min(count, grid_size(dimensions))
    annotations = annotations or {}
    return SweepPlan(dict(base_config), list(dimensions), sampler, int(count), trial_seconds, hours, objective,
                     objective_direction(objective, annotations.get("profile_id")), seed,
                     title or f"{Path(base.dataset_path).stem} sweep", annotations)


# ---- Optuna ------------------------------------------------------------------------------------------
_storages: dict[str, object] = {}


def _storage(store):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # its "trial finished" lines are ours to say
    url = f"sqlite:///{Path(store.path).resolve()}"
    if url not in _storages:
        _storages[url] = optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 30}})
    return _storages[url]


def _sampler(plan: SweepPlan, finished: int):
    import optuna

    if plan.sampler == "grid":
        return optuna.samplers.GridSampler({d.name: d.grid() for d in plan.dimensions}, seed=plan.seed)
    if plan.sampler == "random":  # seeded by how far the sweep is, so a restarted sweep does not repeat itself
        return optuna.samplers.RandomSampler(seed=plan.seed + finished)
    return optuna.samplers.TPESampler(seed=plan.seed + finished, n_startup_trials=max(2, plan.trials // 3))


def _pruner(plan: SweepPlan):
    import optuna

    if plan.objective != "val-loss":  # the validation losses a run reports are not the objective then
        return optuna.pruners.NopPruner()
    # a trial is stopped when its validation loss is worse than the median of the finished trials' at the same
    # step; the first quarter of the trials always run to the end, so there is something to compare with
    return optuna.pruners.MedianPruner(n_startup_trials=max(1, plan.trials // 4), n_warmup_steps=0)


def _store(store=None):
    if store is None:
        store = default_store()
    return store


def sweep_plan(sweep_id: str, store=None) -> SweepPlan:
    with _store(store).connection() as db:
        row = db.execute("SELECT spec FROM sweeps WHERE id = ?", (sweep_id,)).fetchone()
    if row is None:
        raise PlainError(title="No such sweep", what=f"There is no sweep {sweep_id}.",
                         why="It was never created here, or the history was deleted.",
                         actions=["List sweeps with 'peftstudio sweep --list'.",
                                  "Start a new sweep with 'peftstudio sweep --vary ...'."], help_topic="sweeps")
    return SweepPlan.from_dict(json.loads(row[0]))


def study(sweep_id: str, store=None, asking: bool = False):
    """The sweep's Optuna study; `asking`: with the sweep's sampler (only asking needs it; the grid sampler
    would try to stop an optimize loop we do not run when told its last trial)."""
    import optuna

    store = _store(store)
    plan = sweep_plan(sweep_id, store)
    loaded = optuna.load_study(study_name=sweep_id, storage=_storage(store),
                               sampler=optuna.samplers.RandomSampler(), pruner=_pruner(plan))
    if asking:  # seeded by how many trials have finished, which only the loaded study knows
        loaded.sampler = _sampler(plan, sum(t.state.is_finished() for t in loaded.get_trials(deepcopy=False)))
    return loaded


def create_sweep(plan: SweepPlan, store=None) -> str:
    """The study and one queue slot per trial (the slots wait for their turn like any queued run)."""
    import optuna

    store = _store(store)
    sweep_id = f"sweep-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:4]}"
    optuna.create_study(study_name=sweep_id, storage=_storage(store), direction=plan.direction)
    with store.transaction() as db:
        db.execute("INSERT INTO sweeps(id, spec, created) VALUES (?, ?, datetime('now'))",
                   (sweep_id, json.dumps(plan.to_dict())))
    queue = RunQueue(store)
    for number in range(plan.trials):
        queue.add(None, f"{plan.title}: trial {number + 1} of {plan.trials}", plan.annotations,
                  plan.trial_seconds, sweep_id=sweep_id)
    return sweep_id


def list_sweeps(store=None) -> list[dict]:
    with _store(store).connection() as db:
        rows = db.execute("SELECT id, spec, created, kept_run FROM sweeps ORDER BY created DESC").fetchall()
    return [{"id": r[0], "title": json.loads(r[1]).get("title"), "created": r[2], "kept_run": r[3]} for r in rows]


def out_of_time(sweep_id: str, store=None) -> bool:
    """A sweep with an hours budget starts its clock with its first trial; a trial that would end well past it
    is skipped."""
    store = _store(store)
    plan = sweep_plan(sweep_id, store)
    if plan.hours is None:
        return False
    now = time.time()
    with store.transaction() as db:
        deadline = db.execute("SELECT deadline FROM sweeps WHERE id = ?", (sweep_id,)).fetchone()[0]
        if deadline is None:
            deadline = now + plan.hours * 3600
            db.execute("UPDATE sweeps SET deadline = ? WHERE id = ?", (deadline, sweep_id))
    return now + plan.trial_seconds / 2 > deadline


def ask_trial(sweep_id: str, store=None) -> tuple[int, TrainingConfig]:
    """The next trial's number and settings, chosen now by the sampler from every trial so far."""
    plan = sweep_plan(sweep_id, store)
    current = study(sweep_id, store, asking=True)
    trial = current.ask({d.name: d.distribution() for d in plan.dimensions})
    try:
        config = trial_config(plan.base_config, trial.params)
        config.check()
    except (PlainError, ValueError):
        current.tell(trial, state=_states().FAIL)
        raise
    return trial.number, config


def _states():
    from optuna.trial import TrialState

    return TrialState


def _trial(sweep_id: str, number: int, store=None):
    import optuna

    current = study(sweep_id, store)
    frozen = next(t for t in current.get_trials(deepcopy=False) if t.number == number)
    return current, optuna.trial.Trial(current, frozen._trial_id)


class TrialObserver:
    """Feeds a trial's validation losses to the pruner while its run trains; tells the study how it ended."""

    def __init__(self, sweep_id: str, number: int, store=None):
        self.sweep_id, self.number, self.store = sweep_id, number, store
        self.plan = sweep_plan(sweep_id, store)
        self.study, self.trial = _trial(sweep_id, number, store)
        self.pruned = False

    def on_event(self, event: dict) -> bool:
        """True when the run should stop now: its validation loss is clearly behind the finished trials'."""
        if event.get("type") != "eval" or event.get("eval_loss") is None or self.plan.objective != "val-loss":
            return False
        self.trial.report(float(event["eval_loss"]), int(event["step"]))
        self.pruned = self.trial.should_prune()
        return self.pruned

    def finish(self, status: str, summary: dict, run_dir: Path) -> tuple[str, dict]:
        """The queue state of the trial and its outcome; the study learns the result."""
        states = _states()
        if status == "completed":
            value = self._objective(summary, run_dir)
            if value is None or not math.isfinite(value):
                self.study.tell(self.number, state=states.FAIL, skip_if_finished=True)
                return FAILED, {"reason": "The trial gave no objective value."}
            self.study.tell(self.number, value, skip_if_finished=True)  # told before a crash: once
            return DONE, {"objective": value}
        if status == "stopped" and self.pruned:
            self.study.tell(self.number, state=states.PRUNED, skip_if_finished=True)
            return PRUNED, {"reason": "Stopped early: its validation loss was behind the other trials'."}
        self.study.tell(self.number, state=states.FAIL, skip_if_finished=True)
        return (STOPPED if status == "stopped" else FAILED), {}

    def _objective(self, summary: dict, run_dir: Path) -> float | None:
        if self.plan.objective == "val-loss":
            return summary.get("final_eval_loss")

        card = evaluate_run(run_dir, limit=TASK_METRIC_LIMIT, skills=False)
        save_scorecard(run_dir, card)
        return (card.get("task") or {}).get("tuned")
