"""Issue 23: the run queue. Three queued demo runs train one after another; a process killed during the second
leaves a queue that the next start finishes (the second from its checkpoint, then the third), nothing twice."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import signature_rows, small_config

from peftstudio.engine.history import Store
from peftstudio.engine.training import DONE, RUNNING, WAITING, RunQueue
from peftstudio.engine.runs.events import read_events


def test_queue_keeps_order_moves_removes_and_estimates_times(tmp_path):
    queue = RunQueue(Store(tmp_path / "store.sqlite3"))
    config = small_config(tmp_path / "data.json").to_dict()
    first = queue.add(config, "first", planned_seconds=60)
    second = queue.add(config, "second", planned_seconds=120)
    third = queue.add(config, "third", planned_seconds=30)
    assert [i.title for i in queue.items()] == ["first", "second", "third"]
    queue.move(third.id, 1)
    assert [i.title for i in queue.items()] == ["third", "first", "second"]
    schedule = queue.schedule(now=1000.0)
    assert [(s.start, s.end) for s in schedule] == [(1000, 1030), (1030, 1090), (1090, 1210)]
    # a claimed (running) item comes first, with what it has left to run
    queue.claim(second, str(tmp_path / "run"))
    schedule = queue.schedule(now=1000.0, elapsed={second.id: 100})
    assert [s.item.title for s in schedule] == ["second", "third", "first"]
    assert schedule[0].end == 1020
    assert queue.next_item().id == second.id and queue.next_item().state == RUNNING
    queue.remove(first.id)
    with pytest.raises(Exception) as removing_running:
        queue.remove(second.id)  # only waiting runs can be removed
    assert removing_running.value.title == "No such queued run"
    queue.finish(queue.item(second.id), DONE, {"status": "completed"})
    assert [i.title for i in queue.items()] == ["third"]
    assert [i.state for i in queue.items(include_ended=True)] == [WAITING, DONE]
    assert not queue.paused()
    queue.set_paused(True)
    assert RunQueue(Store(tmp_path / "store.sqlite3")).paused()  # another process sees the flag


def _events(run_dir: Path) -> list[dict]:
    return read_events(Path(run_dir) / "events.jsonl")


def _queue_start(data_dir: Path) -> subprocess.Popen:
    env = dict(os.environ, PEFTSTUDIO_DATA_DIR=str(data_dir))
    return subprocess.Popen([sys.executable, "-m", "peftstudio", "queue", "start", "--json"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_three_queued_runs_survive_a_kill_during_the_second(tmp_path, own_data_dir):
    dataset = tmp_path / "signature.json"
    dataset.write_text(json.dumps(signature_rows()), encoding="utf-8")
    queue = RunQueue()
    items = [queue.add(small_config(dataset, max_steps=6, save_steps=2, seed=n).to_dict(), f"run {n}",
                       planned_seconds=20) for n in range(3)]

    process = _queue_start(own_data_dir)
    deadline = time.time() + 600
    killed_at = None
    while time.time() < deadline and process.poll() is None:
        second = queue.item(items[1].id)
        if second.run_dir and (Path(second.run_dir) / "events.jsonl").exists():
            steps = [e["step"] for e in _events(second.run_dir) if e["type"] == "metrics" and not e.get("heartbeat")]
            checkpoints = [e["step"] for e in _events(second.run_dir) if e["type"] == "checkpoint"]
            if checkpoints and steps and max(steps) >= 3:
                process.send_signal(signal.SIGKILL)  # like a crash or a power cut
                process.wait()
                killed_at = max(steps)
                break
        time.sleep(0.2)
    assert killed_at is not None, process.communicate()[1][-3000:] if process.poll() is not None else "timed out"
    assert queue.item(items[0].id).state == DONE
    assert queue.item(items[1].id).state == RUNNING  # left claimed by the killed process
    assert queue.item(items[2].id).state == WAITING

    restarted = _queue_start(own_data_dir)
    out, err = restarted.communicate(timeout=900)
    assert restarted.returncode == 0, err[-3000:]
    ended = json.loads(out)["ended"]
    assert [i["id"] for i in ended] == [items[1].id, items[2].id]  # the second first, then the third
    assert [queue.item(i.id).state for i in items] == [DONE, DONE, DONE]

    run_dirs = [Path(queue.item(i.id).run_dir) for i in items]
    assert len(set(run_dirs)) == 3
    assert sorted(p.name for p in (own_data_dir / "runs").iterdir()) == sorted(p.name for p in run_dirs)
    for run_dir in run_dirs:  # each completed once, with its version
        statuses = [e["status"] for e in _events(run_dir) if e["type"] == "status"]
        assert statuses.count("completed") == 1
        assert (run_dir / "adapter" / "adapter_model.safetensors").exists()
        assert json.loads((run_dir / "run.json").read_text())["queue_item"] in [i.id for i in items]
    first, second, third = ([e for e in _events(d) if e["type"] == "status" and e["status"] == "running"]
                            for d in run_dirs)
    assert len(first) == 1 and len(third) == 1  # never started again
    assert len(second) == 2
    resumed_from = second[1]["resumed_from_step"]
    # from its last checkpoint, not from the start (a step or a checkpoint may land between our look and the kill)
    assert 2 <= resumed_from < 6 and resumed_from >= killed_at - 2
    events = _events(run_dirs[1])
    restart = [n for n, e in enumerate(events) if e["type"] == "status" and e["status"] == "running"][1]
    after = [e["step"] for e in events[restart:] if e["type"] == "metrics" and not e.get("heartbeat")]
    assert min(after) == resumed_from + 1 and max(after) == 6


def test_queue_command_line_adds_lists_moves_removes_and_pauses(tmp_path, own_data_dir, capsys):
    from peftstudio.cli import main

    dataset = tmp_path / "signature.json"
    dataset.write_text(json.dumps(signature_rows()), encoding="utf-8")
    common = ["--model", "HuggingFaceTB/SmolLM2-135M-Instruct", "--dataset", str(dataset), "--max-steps", "4"]
    assert main(["queue", "add", *common, "--title", "first", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["state"] == WAITING and first["planned_seconds"] > 0 and first["config"]["max_steps"] == 4
    assert main(["queue", "add", *common, "--profile", "chatbot", "--title", "second", "--json"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["annotations"] == {"profile_id": "chatbot"}
    assert main(["queue", "move", str(second["id"]), "--to", "1", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["items"]
    assert [i["title"] for i in listed] == ["second", "first"]
    assert listed[0]["estimated_end"] <= listed[1]["estimated_start"]
    assert main(["queue", "remove", "999", "--json"]) == 1  # plainly refused, nothing changed
    assert json.loads(capsys.readouterr().out)["error"]["title"] == "No such queued run"
    assert main(["queue", "remove", str(first["id"])]) == 0
    assert "#" + str(second["id"]) in capsys.readouterr().out
    assert main(["queue", "add", "--dataset", str(dataset)]) == 1  # no model
    assert "No model was given" in capsys.readouterr().err
    assert main(["queue", "pause"]) == 0 and RunQueue().paused()
    assert main(["queue", "list"]) == 0
    assert "(paused" in capsys.readouterr().out
