"""Comparing 2 to 5 completed runs: side-by-side series for each key metric, the best run per metric,
and every configuration setting that differs."""
from __future__ import annotations

from pathlib import Path

from peftstudio.engine.errors import PlainError
from peftstudio.engine.runs import RunFolder
from peftstudio.engine.runs.events import read_events

# metric -> (label, lower is better)
METRICS = {"train_loss": ("Training loss", True), "eval_loss": ("Validation loss", True),
           "throughput": ("Tokens per second", False), "learning_rate": ("Learning rate", None),
           "peak_memory": ("Peak memory (bytes)", True), "duration": ("Duration (s)", True),
           "task_score": ("Task score on held-back examples", False),
           "skills_change": ("General skills vs base (%)", False)}


SCORECARD_METRICS = ("task_score", "skills_change")


def scorecard_finals(run_dir: Path) -> dict:
    """The scorecard's task score (when higher is better) and general-skills change, if the run was scored."""
    card = RunFolder(run_dir).info().get("scorecard") or {}
    if not isinstance(card, dict):
        card = {}
    task, skills = card.get("task") or {}, card.get("general_skills") or {}
    return {"task_score": task.get("tuned") if task.get("higher_is_better", True) else None,
            "skills_change": skills.get("change_percent")}


def config_diff(a: dict, b: dict) -> dict[str, tuple]:
    """Property 24: every setting whose value differs, as name -> (value in a, value in b)."""
    return {k: (a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)}


def run_series(run_dir: Path) -> dict:
    events = read_events(RunFolder(run_dir).events_file)
    metrics = [e for e in events if e["type"] == "metrics" and not e.get("heartbeat") and e.get("loss") is not None]
    evals = [e for e in events if e["type"] == "eval"]
    series = {"train_loss": [(m["step"], m["loss"]) for m in metrics],
              "eval_loss": [(e["step"], e["eval_loss"]) for e in evals],
              "throughput": [(m["step"], m.get("tokens_per_second") or 0.0) for m in metrics],
              "learning_rate": [(m["step"], m.get("learning_rate") or 0.0) for m in metrics]}
    peak = max((m.get("process_rss") or 0 for m in events if m["type"] == "metrics"), default=0)
    gpu = max((max(m.get("gpu_memory_used") or [0]) for m in events if m["type"] == "metrics"), default=0)
    duration = (metrics[-1]["time"] - metrics[0]["time"]) if len(metrics) > 1 else 0.0
    finals = {"train_loss": series["train_loss"][-1][1] if metrics else None,
              "eval_loss": series["eval_loss"][-1][1] if evals else None,
              "throughput": sum(v for _, v in series["throughput"]) / len(metrics) if metrics else None,
              "learning_rate": series["learning_rate"][-1][1] if metrics else None,
              "peak_memory": max(peak, gpu) or None, "duration": duration or None, **scorecard_finals(run_dir)}
    return {"series": series, "finals": finals}


def compare_runs(run_dirs: list[Path]) -> dict:
    """Properties 22 and 23: charts for every key metric and the best run for each."""
    if not 2 <= len(run_dirs) <= 5:
        raise PlainError(
            title="Choose 2 to 5 runs to compare",
            what=f"{len(run_dirs)} run(s) were chosen.",
            why="Side-by-side charts stay readable with up to five runs.",
            actions=["Select between two and five completed runs.", "Compare the others in a second view."],
            help_topic="runs",
        )
    runs = []
    for run_dir in run_dirs:
        run = RunFolder(run_dir)
        config = run.config_fields()
        runs.append({"id": run.id, "config": config, **run_series(run_dir)})
    # the scorecard's metrics are charted once some run was scored (Property 22 stays whole for the others)
    shown = {name: spec for name, spec in METRICS.items()
             if name not in SCORECARD_METRICS or any(r["finals"][name] is not None for r in runs)}
    charts = {name: {"label": label, "runs": {r["id"]: r["series"].get(name) or
                                              ([(0, r["finals"][name])] if r["finals"][name] is not None else [])
                                              for r in runs}}
              for name, (label, _) in shown.items()}
    best = {}
    for name, (_, lower) in shown.items():
        scored = [(r["finals"][name], r["id"]) for r in runs if r["finals"][name] is not None]
        if scored and lower is not None:
            best[name] = (min if lower else max)(scored)[1]
    base = runs[0]["config"]
    differing = sorted({k for r in runs[1:] for k in config_diff(base, r["config"])})
    diff = {k: {r["id"]: r["config"].get(k) for r in runs} for k in differing}
    return {"runs": [r["id"] for r in runs], "charts": charts, "best": best, "config_diff": diff,
            "finals": {r["id"]: r["finals"] for r in runs}}
