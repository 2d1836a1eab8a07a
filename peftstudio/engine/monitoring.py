"""What the dashboard shows, computed from the event stream (no Qt): zones, milestones, pause info.

Loss zones (Property 9), relative to the run's own starting loss L0 (the first logged loss):
    good          loss <= L0              the model is at or below where it started
    acceptable    L0 < loss <= 1.5 x L0   a little above the start: normal noise early on
    problematic   loss > 1.5 x L0, NaN or infinite: diverging, or broken
The plot draws the same three bands: green [0, L0], yellow (L0, 1.5 L0], red above.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

GOOD, ACCEPTABLE, PROBLEMATIC = "good", "acceptable", "problematic"
ACCEPTABLE_FACTOR = 1.5
MILESTONES = (25, 50, 75, 100)


def loss_zone(loss: float, start_loss: float) -> str:
    if loss is None or not math.isfinite(loss):
        return PROBLEMATIC
    if loss <= start_loss:
        return GOOD
    if loss <= ACCEPTABLE_FACTOR * start_loss:
        return ACCEPTABLE
    return PROBLEMATIC


def zone_bounds(start_loss: float) -> dict[str, tuple[float, float]]:
    return {GOOD: (0.0, start_loss), ACCEPTABLE: (start_loss, ACCEPTABLE_FACTOR * start_loss),
            PROBLEMATIC: (ACCEPTABLE_FACTOR * start_loss, math.inf)}


class MilestoneTracker:
    """Reports each of 25/50/75/100% once, when progress first reaches it (also after a resume)."""

    def __init__(self):
        self.reached: set[int] = set()

    def update(self, step: int, max_steps: int) -> list[int]:
        if not max_steps:
            return []
        percent = 100 * step / max_steps
        new = [m for m in MILESTONES if percent >= m and m not in self.reached]
        self.reached.update(new)
        return new


def milestone_message(milestone: int, step: int, max_steps: int, loss: float | None) -> dict:
    text = "Training complete." if milestone == 100 else f"Training is {milestone}% done."
    if loss is not None:
        text += f" Step {step} of {max_steps}, loss {loss:.3f}."
    return {"title": f"PEFT Studio: {milestone}%", "message": text, "urgent": False}


def error_notification(error: dict) -> dict:
    """An urgent notification for a failed run: the plain-language title and what happened."""
    return {"title": f"Training stopped: {error.get('title', 'an error occurred')}",
            "message": error.get("what", ""), "urgent": True}


@dataclass
class RunSeries:
    """The curves and state of a run, built from its events (live or from events.jsonl)."""

    steps: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    learning_rate: list[float] = field(default_factory=list)
    tokens_per_second: list[float] = field(default_factory=list)
    steps_per_second: list[float] = field(default_factory=list)
    eval_steps: list[int] = field(default_factory=list)
    eval_loss: list[float] = field(default_factory=list)
    # preference runs (DPO, ORPO, SimPO, KTO): chosen-vs-rejected reward margin and how often the chosen wins
    preference_steps: list[int] = field(default_factory=list)
    reward_margin: list[float] = field(default_factory=list)
    preference_accuracy: list[float] = field(default_factory=list)
    # GRPO runs: the mean reward and its spread within groups, each reward's mean, the KL from the base, the
    # mean answer length
    reward_steps: list[int] = field(default_factory=list)
    reward: list[float] = field(default_factory=list)
    reward_std: list[float] = field(default_factory=list)
    kl: list[float] = field(default_factory=list)
    completion_length: list[float] = field(default_factory=list)
    by_reward: dict[str, list[float]] = field(default_factory=dict)
    status: str = "created"
    last_metrics: dict = field(default_factory=dict)
    paused_at: dict | None = None

    @property
    def start_loss(self) -> float | None:
        return self.loss[0] if self.loss else None

    def add(self, event: dict) -> None:
        kind = event.get("type")
        if kind == "metrics":
            self.last_metrics = event
            if event.get("heartbeat") or event.get("loss") is None:
                return
            if self.steps and event["step"] <= self.steps[-1]:
                return  # a resumed run repeats nothing, but be safe with duplicates
            self.steps.append(event["step"])
            self.loss.append(event["loss"])
            self.learning_rate.append(event.get("learning_rate") or 0.0)
            self.tokens_per_second.append(event.get("tokens_per_second") or 0.0)
            self.steps_per_second.append(event.get("steps_per_second") or 0.0)
            if event.get("reward_margin") is not None:
                self.preference_steps.append(event["step"])
                self.reward_margin.append(event["reward_margin"])
                self.preference_accuracy.append(event.get("preference_accuracy") or 0.0)
            if event.get("reward") is not None:
                self._add_reward(event)
        elif kind == "eval":
            self.eval_steps.append(event["step"])
            self.eval_loss.append(event["eval_loss"])
        elif kind == "status":
            self.status = event["status"]
            resumed = event.get("resumed_from_step")
            if resumed is not None and self.steps and self.steps[-1] > resumed:
                self._truncate(resumed)  # a recovery rolled back: the steps after it are trained again
            self.paused_at = paused_info(event, self.last_metrics) if self.status == "paused" else None


    def _add_reward(self, event: dict) -> None:
        self.reward_steps.append(event["step"])
        self.reward.append(event["reward"])
        self.reward_std.append(event.get("reward_std") or 0.0)
        self.kl.append(event.get("kl") or 0.0)
        self.completion_length.append(event.get("completion_length") or 0.0)
        for label, value in (event.get("rewards") or {}).items():
            # a reward first logged later is padded, so every curve lines up with reward_steps
            self.by_reward.setdefault(label, [float("nan")] * (len(self.reward_steps) - 1)).append(value)

    def _truncate(self, step: int) -> None:
        keep = sum(1 for s in self.steps if s <= step)
        for name in ("steps", "loss", "learning_rate", "tokens_per_second", "steps_per_second"):
            setattr(self, name, getattr(self, name)[:keep])
        keep_pref = sum(1 for s in self.preference_steps if s <= step)
        for name in ("preference_steps", "reward_margin", "preference_accuracy"):
            setattr(self, name, getattr(self, name)[:keep_pref])
        keep_reward = sum(1 for s in self.reward_steps if s <= step)
        for name in ("reward_steps", "reward", "reward_std", "kl", "completion_length"):
            setattr(self, name, getattr(self, name)[:keep_reward])
        self.by_reward = {label: values[:keep_reward] for label, values in self.by_reward.items()}
        keep_eval = sum(1 for s in self.eval_steps if s <= step)
        self.eval_steps, self.eval_loss = self.eval_steps[:keep_eval], self.eval_loss[:keep_eval]


def paused_info(status_event: dict, last_metrics: dict) -> dict:
    """Elapsed time, remaining estimate and resource use at the moment of the pause (Property 29)."""
    step, max_steps = last_metrics.get("step") or 0, last_metrics.get("max_steps") or 0
    elapsed = status_event.get("elapsed_seconds") or last_metrics.get("elapsed_seconds") or 0.0
    remaining = elapsed / step * (max_steps - step) if step and max_steps else None
    return {"step": step, "max_steps": max_steps, "elapsed_seconds": elapsed, "remaining_seconds": remaining,
            "cpu_percent": last_metrics.get("cpu_percent"), "ram_used": last_metrics.get("ram_used"),
            "process_rss": last_metrics.get("process_rss"), "gpu_memory_used": last_metrics.get("gpu_memory_used", [])}


def series_from_events(events: list[dict]) -> RunSeries:
    series = RunSeries()
    for event in events:
        series.add(event)
    return series
