"""Issue 23: sweeps. What can vary and how it is read; the budget checked against the planner; a 4-trial sweep on
the demo model whose hopeless trial Optuna's pruner stops early, every trial recorded, and Keep the best."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from helpers import signature_rows, small_config

from peftstudio.cli import main
from peftstudio.engine.errors import PlainError
from peftstudio.engine.history import default_store, list_versions
from peftstudio.engine.training import RunQueue, parse_vary, plan_sweep, results
from peftstudio.engine.runs.events import read_events


def test_vary_reads_values_ranges_and_short_names():
    lr, rank, dora = parse_vary("lr=1e-4:5e-4:log,r=8,16,32,dora=true,false")
    assert (lr.name, lr.low, lr.high, lr.log) == ("learning_rate", 1e-4, 5e-4, True)
    assert lr.grid() == pytest.approx([1e-4, (1e-4 * 5e-4) ** 0.5, 5e-4])
    assert (rank.name, rank.values) == ("lora_r", (8, 16, 32))
    assert (dora.name, dora.values) == ("use_dora", (True, False))
    epochs, = parse_vary("epochs=1:3")
    assert epochs.grid() == [1.0, 2.0, 3.0]


@pytest.mark.parametrize("text, words", [
    ("colour=1,2", "not a setting a sweep can vary"),
    ("model_name=a,b", "not a setting a sweep can vary"),
    ("dropout=0:0.1:log", "log-scale range"),
    ("lora_r=8.5,16", "not a value of lora_r"),
    ("lora_r=0,16", "not allowed"),
    ("lr=1e-4", "single value"),
    ("lr=1e-4,2e-4,lr=3e-4", "named twice"),
    ("use_dora=1:2", "not a range"),
])
def test_bad_vary_is_refused_plainly(text, words):
    with pytest.raises(PlainError) as caught:
        parse_vary(text)
    assert caught.value.title == "The settings to vary could not be read"
    assert words in caught.value.what and caught.value.actions


@pytest.fixture
def dataset(tmp_path):
    path = tmp_path / "signature.json"
    path.write_text(json.dumps(signature_rows()), encoding="utf-8")
    return path


def test_budget_is_checked_against_the_planner(dataset, own_data_dir):
    base = small_config(dataset, max_steps=6, eval_steps=2, validation_split=0.2).to_dict()
    dimensions = parse_vary("lr=1e-4,1e-3,lora_r=4,8")
    with pytest.raises(PlainError) as caught:
        plan_sweep(base, dimensions, "tpe", hours=0.0001)
    assert caught.value.title == "Not even one trial fits in that time"
    grid = plan_sweep(base, dimensions, "grid", trials=10)
    assert grid.trials == 4 and grid.trial_seconds > 0  # a grid has four points
    budget = plan_sweep(base, dimensions, "random", hours=grid.trial_seconds * 2.5 / 3600)
    assert budget.trials == 2  # as many as the planner says fit
    with pytest.raises(PlainError) as no_validation:
        plan_sweep({**base, "validation_split": 0.0}, dimensions, "tpe", trials=2)
    assert "held-back" in no_validation.value.title


def test_four_trial_sweep_prunes_the_hopeless_trial_and_keeps_the_best(dataset, own_data_dir, capsys):
    config = {"max_seq_length": 96, "batch_size": 4, "lora_r": 8, "save_steps": 100, "eval_steps": 2,
              "validation_split": 0.2}
    # one learning rate that learns nothing: its validation loss stays at the base model's, clearly behind
    code = main(["sweep", "--model", "HuggingFaceTB/SmolLM2-135M-Instruct", "--dataset", str(dataset),
                 "--config", json.dumps(config), "--max-steps", "6", "--vary", "lr=3e-3,2e-3,1e-3,1e-9",
                 "--trials", "4", "--sampler", "grid", "--json"])
    found = json.loads(capsys.readouterr().out)
    assert code == 0
    assert found["finished"] and len(found["trials"]) == 4
    trials = found["trials"]
    assert sorted(t["params"]["learning_rate"] for t in trials) == [1e-9, 1e-3, 2e-3, 3e-3]  # every trial recorded
    pruned = [t for t in trials if t["state"] == "pruned"]
    assert pruned and all(t["params"]["learning_rate"] == 1e-9 for t in pruned)
    for trial in pruned:  # stopped early: it never reached the last step
        steps = [e["step"] for e in read_events(Path(trial["run_dir"]) / "events.jsonl") if e["type"] == "metrics"]
        assert max(steps) < 6
        assert trial["intermediate"]  # the validation losses the pruner was given
    done = [t for t in trials if t["state"] == "done"]
    assert len(done) == 4 - len(pruned)
    best = min(done, key=lambda t: t["value"])
    assert found["best"]["run_dir"] == best["run_dir"]
    assert found["wall_seconds"] > 0 and found["planned_seconds"] > 0
    # Optuna keeps its trials in our SQLite file
    with sqlite3.connect(default_store().path) as db:
        assert db.execute("SELECT count(*) FROM trials").fetchone()[0] == 4
    assert list_versions(default_store()) == []  # trials are not versions until one is kept

    assert main(["sweep", "--keep-best", found["sweep"], "--json"]) == 0
    version = json.loads(capsys.readouterr().out)
    assert version["run_id"] == best["run_dir"].rsplit("/", 1)[-1]
    assert [v["run_id"] for v in list_versions(default_store())] == [version["run_id"]]
    info = json.loads((own_data_dir / "runs" / version["run_id"] / "run.json").read_text())
    assert info["version_record"]["version"] == version["version"]  # recorded in the run folder too
    assert info["sweep"]["state"] == "done"
    assert results(found["sweep"]).kept_run == version["run_id"]
    assert RunQueue().items() == []


def test_the_objective_decides_the_direction():
    from peftstudio.engine.training.sweep import objective_direction

    assert objective_direction("val-loss", "chatbot") == "minimize"
    assert objective_direction("task-metric", "question-answering") == "maximize"  # a score: higher is better
    assert objective_direction("task-metric", "domain-adaptation") == "minimize"  # perplexity


def test_sweep_command_errors_are_plain(dataset, own_data_dir, capsys):
    common = ["sweep", "--model", "HuggingFaceTB/SmolLM2-135M-Instruct", "--dataset", str(dataset)]
    assert main([*common, "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["error"]["title"] == "Nothing to vary"
    assert main([*common, "--vary", "lr=1e-4,2e-4", "--hours", "0.00001", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["error"]["title"] == "Not even one trial fits in that time"
    assert main(["sweep", "--show", "sweep-nope", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["error"]["title"] == "No such sweep"
    assert RunQueue().items() == []  # nothing was queued by a refused sweep
