import signal
import sqlite3
import subprocess
import sys
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from peftstudio.engine.history.compare import METRICS, compare_runs, config_diff
from peftstudio.engine.config import TrainingConfig
from peftstudio.engine.history.store import MIGRATIONS, Store
from run_folders import write_run
from peftstudio.engine.history.versions import (archive, cleanup_prompt, create_version, delete_version, list_versions,
                                        rollback)

FUNCTION_SCOPED = settings(max_examples=100, deadline=None,
                           suppress_health_check=[HealthCheck.function_scoped_fixture])


# **Feature: simplified-llm-optimization, Property 30: Model versioning on completion**
@FUNCTION_SCOPED
@given(st.lists(st.sampled_from(["hyper", "dataset", "model"]), min_size=1, max_size=6))
def test_each_completed_run_gets_the_right_semantic_version(tmp_path_factory, changes):
    folder = tmp_path_factory.mktemp("v")
    store = Store(folder / "db.sqlite3")
    (folder / "a.jsonl").write_text("a")
    (folder / "b.jsonl").write_text("b")
    config = TrainingConfig(model_name="m1", dataset_path=str(folder / "a.jsonl"))
    first = create_version(store, write_run(folder, "r0", config, [2, 1]), config, {"final_loss": 1.0}, "bot")
    assert first["version"] == "1.0.0" and first["bump"] == "first"
    major, minor, patch = 1, 0, 0
    for i, change in enumerate(changes, 1):
        if change == "hyper":
            config = TrainingConfig(**{**config.to_dict(), "lora_r": config.lora_r + 1})
            patch += 1
        elif change == "dataset":
            other = "b.jsonl" if config.dataset_path.endswith("a.jsonl") else "a.jsonl"
            config = TrainingConfig(**{**config.to_dict(), "dataset_path": str(folder / other)})
            minor, patch = minor + 1, 0
        else:
            config = TrainingConfig(**{**config.to_dict(), "model_name": f"m{i + 1}"})
            major, minor, patch = major + 1, 0, 0
        version = create_version(store, write_run(folder, f"r{i}", config, [2, 1]), config, {"final_loss": 0.5},
                                 "bot")
        assert version["version"] == f"{major}.{minor}.{patch}"
        assert version["timestamp"] and version["config"] == config.to_dict() and version["metrics"]["final_loss"]
    listed = list_versions(store, "bot")
    assert len(listed) == len(changes) + 1 and [v["active"] for v in listed] == [0] * len(changes) + [1]


def test_rollback_archive_and_delete(tmp_path):
    store = Store(tmp_path / "db.sqlite3")
    config = TrainingConfig(dataset_path=str(tmp_path / "support-bot.jsonl"))
    for i in range(3):
        config = TrainingConfig(**{**config.to_dict(), "seed": i})
        create_version(store, write_run(tmp_path, f"run{i}", config, [2, 1]), config, {})
    assert [v["version"] for v in list_versions(store, "support-bot")] == ["1.0.0", "1.0.1", "1.0.2"]
    rollback(store, "support-bot", "1.0.0")
    assert [v["active"] for v in list_versions(store, "support-bot")] == [1, 0, 0]
    archived = archive(store, "support-bot", keep_latest=1)
    assert [v["version"] for v in archived] == ["1.0.1"]  # the active version (rolled back to) is kept whole
    assert not (tmp_path / "run1" / "checkpoints").exists() and (tmp_path / "run1" / "adapter").exists()
    assert (tmp_path / "run0" / "checkpoints").exists()
    try:
        delete_version(store, "support-bot", "1.0.1", confirmed=False)
    except Exception as error:  # noqa: BLE001
        assert "confirmation" in str(error)
    delete_version(store, "support-bot", "1.0.1", confirmed=True)
    assert not (tmp_path / "run1").exists() and len(list_versions(store)) == 2


# **Feature: simplified-llm-optimization, Property 31: Low disk space triggers cleanup prompt**
@FUNCTION_SCOPED
@given(st.integers(0, 10**12), st.integers(1, 10**12))
def test_low_disk_space_prompts_with_sizes_and_options(tmp_path_factory, free, threshold):
    folder = tmp_path_factory.mktemp("d")
    store = Store(folder / "db.sqlite3")
    config = TrainingConfig(dataset_path="x.jsonl")
    create_version(store, write_run(folder, "r", config, [1.0]), config, {})
    prompt = cleanup_prompt(store, free, threshold)
    if free >= threshold:
        assert prompt is None
    else:
        assert prompt["versions"][0]["size_bytes"] > 6000 and len(prompt["options"]) == 3


# **Feature: simplified-llm-optimization, Property 22: Training run comparison generates charts**
# **Feature: simplified-llm-optimization, Property 23: Comparison highlights best performers**
@FUNCTION_SCOPED
@given(st.lists(st.tuples(st.floats(0.1, 5), st.floats(1, 500)), min_size=2, max_size=5, unique_by=lambda t: t[0]))
def test_comparison_charts_every_metric_and_names_the_best(tmp_path_factory, finals):
    folder = tmp_path_factory.mktemp("c")
    runs = [write_run(folder, f"run{i}", TrainingConfig(seed=i), [3.0, loss], speed=speed, rss=(i + 1) * 2**30)
            for i, (loss, speed) in enumerate(finals)]
    result = compare_runs(runs)
    assert set(result["charts"]) == set(METRICS) - {"task_score", "skills_change"}  # no run was scored
    for chart in result["charts"].values():
        assert set(chart["runs"]) == {r.name for r in runs} and all(chart["runs"].values())
    losses = {f"run{i}": loss for i, (loss, _) in enumerate(finals)}
    speeds = {f"run{i}": speed for i, (_, speed) in enumerate(finals)}
    assert result["best"]["train_loss"] == min(losses, key=losses.get)
    assert result["best"]["eval_loss"] == min(losses, key=losses.get)
    assert speeds[result["best"]["throughput"]] == max(speeds.values())
    assert result["best"]["peak_memory"] == "run0"
    assert result["config_diff"] == {"seed": {f"run{i}": i for i in range(len(finals))}}


# **Feature: simplified-llm-optimization, Property 24: Configuration diff calculation**
@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.sampled_from(list(TrainingConfig.__dataclass_fields__)), st.integers(0, 3)),
       st.dictionaries(st.sampled_from(list(TrainingConfig.__dataclass_fields__)), st.integers(0, 3)))
def test_the_diff_lists_exactly_the_differing_settings(a, b):
    diff = config_diff(a, b)
    for key in set(a) | set(b):
        assert (key in diff) == (a.get(key) != b.get(key))
        if key in diff:
            assert diff[key] == (a.get(key), b.get(key))


def test_a_process_killed_while_writing_leaves_a_complete_database(tmp_path):
    db = tmp_path / "store.sqlite3"
    writer = (
        "import sys; from pathlib import Path; from peftstudio.engine.history.store import Store\n"
        "store = Store(Path(sys.argv[1]))\n"
        "for i in range(100000):\n"
        "    store.upsert_run({'id': f'run{i}', 'model_name': 'm' * 2000, 'status': 'completed',"
        " 'created': str(i), 'summary': {'i': i, 'pad': 'x' * 5000}}, Path('/tmp'), {'seed': i})\n"
        "    print(i, flush=True)\n")
    process = subprocess.Popen([sys.executable, "-c", writer, str(db)], stdout=subprocess.PIPE, text=True)
    committed = -1
    started = time.time()
    while committed < 200 and time.time() - started < 120:
        line = process.stdout.readline()
        if line:
            committed = int(line)
    process.send_signal(signal.SIGKILL)
    process.wait()
    with sqlite3.connect(db) as check:
        assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = Store(db).runs()
    assert len(rows) >= committed + 1  # everything committed survived (one more may have made it)
    assert all(r["summary"]["pad"] == "x" * 5000 and r["config"]["seed"] == r["summary"]["i"] for r in rows)


def test_migrations_bring_an_old_database_forward(tmp_path):
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as old:
        old.executescript(MIGRATIONS[0] + "; PRAGMA user_version=1;")
    store = Store(path)
    assert store.schema_version == len(MIGRATIONS)
    with store.connection() as db:
        assert db.execute("SELECT count(*) FROM presets").fetchone()[0] == 0


def test_reindex_rebuilds_the_runs_from_their_folders(tmp_path):
    runs = tmp_path / "runs"
    for i in range(3):
        write_run(runs, f"r{i}", TrainingConfig(seed=i), [2.0, 1.0])
    store = Store(tmp_path / "db.sqlite3")
    assert store.reindex(runs) == 3
    assert {r["id"] for r in store.runs()} == {"r0", "r1", "r2"} and store.run("r1")["config"]["seed"] == 1


def test_saved_presets_are_indexed_in_the_store():
    from peftstudio.engine.history.presets import Preset, save_preset
    from peftstudio.engine.history.store import default_store

    save_preset(Preset("indexed preset", "chatbot", TrainingConfig(lora_r=24)))
    [row] = [p for p in default_store().presets() if p["name"] == "indexed preset"]
    assert row["profile_id"] == "chatbot" and row["config"]["lora_r"] == 24


def test_model_names_leave_out_file_suffixes_and_can_be_renamed(tmp_path):
    """Journey finding 8: 'shop.fixed.jsonl' trains 'shop', and renaming reaches the store and the run folders."""
    from peftstudio.engine.errors import PlainError
    from peftstudio.engine.history.versions import default_model_name, rename_model
    from peftstudio.engine.runs.folder import RunFolder

    assert default_model_name(TrainingConfig(dataset_path="/d/shop.fixed.jsonl")) == "shop"
    assert default_model_name(TrainingConfig(dataset_path="/d/My Support_Data-final.csv")) == "my-support_data"
    store = Store(tmp_path / "db.sqlite3")
    config = TrainingConfig(dataset_path=str(tmp_path / "shop.fixed.jsonl"))
    run = write_run(tmp_path, "run0", config, [2, 1])
    version = create_version(store, run, config, {})
    assert version["model_name"] == "shop"
    other = TrainingConfig(dataset_path=str(tmp_path / "other.jsonl"))
    create_version(store, write_run(tmp_path, "run1", other, [2, 1]), other, {})
    try:
        rename_model(store, "shop", "other")
        raise AssertionError("a taken name must be refused")
    except PlainError as error:
        assert "taken" in error.title
    assert rename_model(store, "shop", "Shop Assistant!") == 1
    assert [v["model_name"] for v in list_versions(store) if v["run_id"] == "run0"] == ["shop-assistant"]
    assert RunFolder(run).info()["version_record"]["model_name"] == "shop-assistant"
    again = create_version(store, write_run(tmp_path, "run2", config, [2, 1]), config, {},
                           model_name="shop-assistant")
    assert again["version"] == "1.0.1"  # the renamed model keeps counting


def test_comparison_charts_the_scorecard_once_a_run_was_scored(tmp_path):
    """Issue 20: Compare highlights the best task score and general-skills change."""
    import json

    runs = [write_run(tmp_path, f"run{i}", TrainingConfig(seed=i), [3.0, 1.0]) for i in range(2)]
    for run, (task, skills) in zip(runs, ((0.4, -20.0), (0.6, -1.0))):
        info = json.loads((run / "run.json").read_text())
        info["scorecard"] = {"task": {"tuned": task, "higher_is_better": True},
                             "general_skills": {"change_percent": skills}}
        (run / "run.json").write_text(json.dumps(info))
    result = compare_runs(runs)
    assert result["best"]["task_score"] == "run1" and result["best"]["skills_change"] == "run1"
