"""Issue 16: a training process killed at random points, 20 times, and what is left checked after each kill.

The points: during a step (killed from outside once a chosen number of steps have run), while a checkpoint
is written, while events.jsonl or run.json is written, during the final adapter save, and during an export
(killed from inside at the N-th matching file, after a random delay, by tests/reliability/fault_points).
After every kill: run.json and events.jsonl read back and agree, the run reopens as failed (or finished),
one run has at most one version, and no file outside the run's own folders was written. The run is then
resumed by the next process, so every kill is also a test that the run resumes; each run ends completed.
The model is a tiny random-weight Llama with the demo model's tokenizer: the point is the bookkeeping.
"""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import signature_rows, tiny_llama_folder
from peftstudio.engine.runs.events import Status, read_events
from peftstudio.engine.training.session import TrainingSession

FAULT_POINTS = Path(__file__).resolve().parent / "fault_points"
SETTINGS = {"max_steps": 6, "save_steps": 1, "save_total": 2, "batch_size": 2, "validation_split": 0.0,
            "eval_strategy": "no", "max_seq_length": 64, "logging_steps": 1, "learning_rate": 1e-3}
KILLS = 20


@pytest.fixture(scope="module")
def world(tmp_path_factory, demo_folder):
    root = tmp_path_factory.mktemp("faults")
    model = tiny_llama_folder(root / "tiny-llama", demo_folder)
    dataset = root / "signature.json"
    dataset.write_text(json.dumps(signature_rows(24)))
    env = {**os.environ, "PEFTSTUDIO_DATA_DIR": str(root / "data"), "PEFTSTUDIO_CACHE_DIR": str(root / "cache"),
           "PEFTSTUDIO_CONFIG_DIR": str(root / "config"), "PEFTSTUDIO_LOG_DIR": str(root / "logs"),
           "PYTHONPATH": os.pathsep.join([str(FAULT_POINTS), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
           "PYTHONDONTWRITEBYTECODE": "1", "TMPDIR": str(root / "tmp"),  # libraries' own scratch files
           "TORCHINDUCTOR_CACHE_DIR": str(root / "tmp" / "inductor")}
    (root / "tmp").mkdir()
    return {"root": root, "model": model, "dataset": dataset, "env": env, "log": []}


def start(world, args: list[str], fault: str | None, writes: Path) -> subprocess.Popen:
    env = dict(world["env"], PEFTSTUDIO_FAULT_WRITES=str(writes))
    if fault:
        env["PEFTSTUDIO_FAULT"] = fault
    return subprocess.Popen([sys.executable, "-m", "peftstudio", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=world["root"])


def metrics_count(run_dir: Path) -> int:
    return sum(1 for e in read_events(run_dir / "events.jsonl") if e["type"] == "metrics" and not e.get("heartbeat"))


def assert_consistent(world, run_dir: Path, writes: Path, allowed: list[Path]) -> str:
    """What must hold after any kill; returns the status the run reopens with."""
    info = json.loads((run_dir / "run.json").read_text())
    assert info["id"] == run_dir.name and Path(info["folder"]) == run_dir
    lines = (run_dir / "events.jsonl").read_text().split("\n")
    for line in lines[:-1]:  # every complete line is an event; only an unfinished last line may not be
        event = json.loads(line)
        assert "type" in event and "time" in event
    statuses = [e["status"] for e in read_events(run_dir / "events.jsonl") if e["type"] == "status"]
    assert statuses and statuses[0] == "created"
    if statuses[-1] == "completed":
        assert info["status"] == "completed" and (run_dir / "adapter" / "adapter_model.safetensors").exists()
    session = TrainingSession.open(run_dir)  # the killed process's lock was released with it
    status = session.status
    session.close()
    assert status in (Status.FAILED, Status.COMPLETED, Status.CREATED), status
    versions = [v for v in _versions(world) if v["run_id"] == run_dir.name]
    assert len(versions) <= 1, versions
    touched = [Path(p) for p in writes.read_text().splitlines()] if writes.exists() else []
    creating = run_dir.parent / f".{run_dir.name}.creating-"  # where the run folder is built before it appears
    outside = [p for p in touched if not any(p == a or a in p.parents for a in allowed)
               and not str(p).startswith(("/dev/", "/proc/", str(creating)))
               and p != run_dir.parent]  # (made if missing: it exists)
    assert outside == [], outside
    return status.value


def _versions(world) -> list[dict]:
    from peftstudio.engine.history.store import Store
    from peftstudio.engine.history.versions import list_versions

    return list_versions(Store(world["root"] / "data" / "peftstudio.sqlite3"))


def test_kills_at_random_points_leave_a_consistent_resumable_run(world):
    rng = random.Random(16)
    root = world["root"]
    allowed = [root / "data", root / "cache", root / "logs", root / "config", root / "tmp"]
    points = (["step"] * 6 + ["checkpoint"] * 4 + ["events"] * 3 + ["run.json"] * 2 + ["adapter"] * 3 + ["new"] * 2)
    rng.shuffle(points)
    run_dir, completed_runs, kills, processes = None, [], 0, 0
    while kills < KILLS:
        assert processes < 3 * KILLS, f"a fault point is never reached: {world['log'][-5:]}"
        point = points[kills]
        if run_dir is None or point == "new":
            run_dir = root / f"run-{len(completed_runs) + kills}"
            args = ["train", "--model", str(world["model"]), "--dataset", str(world["dataset"]), "--out",
                    str(run_dir), "--config", json.dumps(SETTINGS)]
            point = "step" if point == "new" else point
        else:
            args = ["train", "--resume", str(run_dir)]
        fault = {"checkpoint": f"*/checkpoints/checkpoint-*/*|{rng.randint(1, 8)}|{rng.randint(0, 20)}",
                 "events": f"{run_dir}/events.jsonl|{rng.randint(2, 12)}|0",
                 "run.json": f"{run_dir}/run.json.tmp*|{rng.randint(1, 4)}|0",
                 "adapter": f"{run_dir}/adapter.tmp/*|{rng.randint(1, 3)}|{rng.randint(0, 5)}"}.get(point)
        processes += 1
        writes = root / f"writes-{processes}.txt"
        process = start(world, args, fault, writes)
        if point == "step":
            target, deadline = metrics_count(run_dir) + rng.randint(1, 3), time.time() + 240
            while process.poll() is None and time.time() < deadline:
                if (run_dir / "events.jsonl").exists() and metrics_count(run_dir) >= target:
                    time.sleep(rng.uniform(0, 0.3))
                    process.send_signal(signal.SIGKILL)
                    break
                time.sleep(0.05)
        try:
            process.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
        killed = process.returncode == -signal.SIGKILL
        if killed and not run_dir.exists():  # killed while the folder was being made: nothing half-made is left
            assert [p.name for p in root.iterdir() if p.name.startswith(run_dir.name)] == []
            world["log"].append((point, killed, "never created"))
            kills, run_dir = kills + 1, None
            continue
        if killed and point == "events":  # a kill in the middle of a line leaves half an event behind
            with open(run_dir / "events.jsonl", "a", encoding="utf-8") as handle:
                handle.write('{"type": "metrics", "step": 99, "lo')
        status = assert_consistent(world, run_dir, writes, allowed + [run_dir])
        world["log"].append((point, killed, status))
        if killed:
            kills += 1
        if status == "completed":
            completed_runs.append(run_dir)
            run_dir = None
        elif not killed:  # the fault point was never reached and the process ended on its own
            assert process.returncode in (0, 1), process.returncode
    # every run left behind resumes to completion, with exactly one version
    if run_dir is not None:
        finish = start(world, ["train", "--resume", str(run_dir)], None, root / "writes-final.txt")
        _, err = finish.communicate(timeout=300)
        assert finish.returncode == 0, err
        completed_runs.append(run_dir)
    for done in completed_runs:
        assert assert_consistent(world, done, root / "none.txt", allowed + [done]) == "completed"
        info = json.loads((done / "run.json").read_text())
        assert info["version_record"]["run_id"] == done.name
        assert len([v for v in _versions(world) if v["run_id"] == done.name]) == 1
    print(f"{processes} processes, {kills} killed; (point, killed, status after):", world["log"])
    world["completed"] = completed_runs


def test_a_killed_export_leaves_nothing_and_the_next_one_succeeds(world):
    rng = random.Random(33)
    run_dir = world["completed"][-1]
    out = world["root"] / "exports" / "tiny"
    before = (run_dir / "run.json").read_text()
    for attempt in range(2):
        writes = world["root"] / f"export-writes-{attempt}.txt"
        process = start(world, ["export", str(run_dir), "--format", "hf", "--out", str(out), "--no-verify"],
                        f"*/.tiny.partial-*/*|{rng.randint(1, 4)}|{rng.randint(0, 10)}", writes)
        process.communicate(timeout=300)
        assert process.returncode == -signal.SIGKILL
        assert not out.exists()  # all or nothing
        assert (run_dir / "run.json").read_text() == before
    assert [p.name for p in out.parent.iterdir() if ".tiny.partial-" in p.name]  # what the kills left
    # the next export, to another place, sweeps up the killed attempts' staging (listed in the data folder)
    out = world["root"] / "elsewhere" / "tiny"
    done = start(world, ["export", str(run_dir), "--format", "hf", "--out", str(out), "--no-verify"], None,
                 world["root"] / "export-writes-ok.txt")
    _, err = done.communicate(timeout=300)
    assert done.returncode == 0, err
    assert "verified" not in err.lower().replace("not verified", "")  # --no-verify must not claim a check
    assert list((world["root"] / "exports").iterdir()) == []  # the killed attempts' staging is gone
    assert sorted(p.name for p in out.parent.iterdir()) == ["tiny"]
    assert (out / "adapter_model.safetensors").exists() and (out / ".peftstudio-export.json").exists()
    exported = b"".join(p.read_bytes() for p in out.rglob("*") if p.is_file() and p.suffix in (".json", ".md"))
    assert str(world["root"]).encode() not in exported  # no local path travels with an export


def test_resume_skips_a_checkpoint_cut_short_on_disk(world):
    """The newest checkpoint truncated after the fact: the run resumes from the newest complete one."""
    run_dir = world["root"] / "truncated-run"
    args = ["train", "--model", str(world["model"]), "--dataset", str(world["dataset"]), "--out", str(run_dir),
            "--config", json.dumps({**SETTINGS, "max_steps": 4})]
    first = start(world, args, f"{run_dir}/checkpoints/checkpoint-3/*|1|0", world["root"] / "t1.txt")
    first.communicate(timeout=300)
    assert first.returncode == -signal.SIGKILL
    complete = sorted((p for p in (run_dir / "checkpoints").glob("checkpoint-*")
                       if (p / "peftstudio-checkpoint.json").exists()), key=lambda p: int(p.name.split("-")[1]))
    assert [p.name for p in complete] == ["checkpoint-1", "checkpoint-2"]
    newest = complete[-1]
    weights = newest / "adapter_model.safetensors"
    with open(weights, "r+b") as handle:
        handle.truncate(weights.stat().st_size // 2)
    resumed = start(world, ["train", "--resume", str(run_dir)], None, world["root"] / "t2.txt")
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    events = read_events(run_dir / "events.jsonl")
    assert any("cut short or damaged" in e.get("message", "") for e in events)
    assert [e for e in events if e["type"] == "status"][-1]["status"] == "completed"
