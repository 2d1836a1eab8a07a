"""`peftstudio train` end to end, in real subprocesses (and in-process for the full-disk case)."""
import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import signature_rows
from peftstudio.engine.models import DEMO_MODEL_ID
from peftstudio.engine.runs.events import read_events

SMALL = json.dumps({"batch_size": 4, "max_seq_length": 96, "learning_rate": 1e-3, "lora_r": 8, "save_steps": 2})


def peftstudio(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "peftstudio", *args], capture_output=True, text=True,
                          timeout=timeout, env=dict(os.environ))


def assert_plain_failure(result, title):
    assert result.returncode == 1, result.stderr
    assert title in result.stderr
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    assert "What you can do:" in result.stderr and "Get help:" in result.stderr


@pytest.fixture
def dataset(tmp_path) -> Path:
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in signature_rows()), encoding="utf-8")
    return path


def test_train_succeeds_offline_and_json_stdout_is_one_document(dataset, tmp_path):
    out = tmp_path / "run"
    result = peftstudio("train", "--model", DEMO_MODEL_ID, "--dataset", str(dataset), "--max-steps", "4",
                        "--config", SMALL, "--out", str(out), "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)  # nothing but the JSON document on stdout
    assert document["status"] == "completed" and document["summary"]["steps"] == 4
    assert "training" in result.stderr and "loss=" in result.stderr and "tok_s=" in result.stderr
    assert (out / "adapter" / "adapter_model.safetensors").exists()
    assert json.loads((out / "config.json").read_text())["max_steps"] == 4


def _interrupt_after_checkpoint(argv, out, how, after_step):
    """Start a training, wait for a checkpoint at or past `after_step`, then send it `how`; its exit code."""
    process = subprocess.Popen([sys.executable, "-m", "peftstudio", "train", *argv],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    try:
        while time.time() < deadline:
            steps = [e["step"] for e in read_events(out / "events.jsonl") if e["type"] == "checkpoint"]
            if steps and steps[-1] >= after_step:
                break
            assert process.poll() is None, "training ended before it could be interrupted"
            time.sleep(0.2)
        else:
            raise AssertionError("no checkpoint within 300 s")
    finally:
        process.send_signal(how)
        code = process.wait(timeout=120)
    return code


def test_a_terminated_then_killed_run_resumes_from_its_last_checkpoint(dataset, tmp_path):
    out = tmp_path / "run"
    # SIGTERM (a shutdown, `kill`, a scheduler): the run ends recorded as stopped, not left "running"
    code = _interrupt_after_checkpoint(["--model", DEMO_MODEL_ID, "--dataset", str(dataset), "--max-steps", "8",
                                        "--config", SMALL, "--out", str(out)], out, signal.SIGTERM, 2)
    assert code == 143
    assert json.loads((out / "run.json").read_text())["status"] == "stopped"
    listed = json.loads(peftstudio("runs", "list", "--json").stdout)
    assert [r["status"] for r in listed if r["folder"] == str(out.resolve())] == ["stopped"]
    # SIGKILL: nothing can be recorded; the next open says so, and the run goes on from its last checkpoint
    _interrupt_after_checkpoint(["--resume", str(out)], out, signal.SIGKILL, 4)
    killed_at = max(e["step"] for e in read_events(out / "events.jsonl") if e["type"] == "checkpoint")
    assert json.loads(peftstudio("runs", "show", str(out), "--json").stdout)["run"]["status"] == "interrupted"

    result = peftstudio("train", "--resume", str(out), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["summary"]["steps"] == 8
    events = read_events(out / "events.jsonl")
    statuses = [e for e in events if e["type"] == "status"]
    assert statuses[-1]["status"] == "completed"
    assert any(s["status"] == "stopped" and s.get("reason") == "Ended by the system" for s in statuses)
    assert any(s["status"] == "failed" and "ended unexpectedly" in s.get("reason", "") for s in statuses)
    resumed = [s for s in statuses if s["status"] == "running"][-1]
    assert resumed["resumed_from_step"] >= killed_at
    logged = {e["step"] for e in events if e["type"] == "metrics" and not e["heartbeat"]}
    assert logged == set(range(1, 9))
    assert peftstudio("train", "--resume", str(out)).returncode == 1  # a completed run is not resumed


@pytest.mark.parametrize("case", ["unknown model", "missing model path", "missing dataset", "binary dataset",
                                  "empty dataset", "bad jsonl", "invalid config value", "bad config json"])
def test_bad_input_fails_plainly_and_leaves_nothing(case, dataset, tmp_path):
    model, data, config = DEMO_MODEL_ID, str(dataset), SMALL
    title = {"unknown model": "The model could not be found", "missing model path": "The model could not be found",
             "missing dataset": "The dataset file could not be read", "binary dataset": "could not be read",
             "empty dataset": "could not be read", "bad jsonl": "could not be read",
             "invalid config value": "Some settings are not valid",
             "bad config json": "not valid JSON"}[case]
    if case == "unknown model":
        model = "no-such-org/definitely-missing-model"
    elif case == "missing model path":
        model = str(tmp_path / "nowhere" / "model.gguf")
    elif case == "missing dataset":
        data = str(tmp_path / "missing.jsonl")
    elif case == "binary dataset":
        (tmp_path / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
        data = str(tmp_path / "image.png")
    elif case == "empty dataset":
        (tmp_path / "empty.json").write_text("")
        data = str(tmp_path / "empty.json")
    elif case == "bad jsonl":
        (tmp_path / "bad.jsonl").write_text('{"instruction": "a", "output": "b"}\n{"instruction": oops}\n')
        data = str(tmp_path / "bad.jsonl")
    elif case == "invalid config value":
        config = json.dumps({"lora_r": 0})
    elif case == "bad config json":
        config = "{lora_r: 8"
    out = tmp_path / "run"
    result = peftstudio("train", "--model", model, "--dataset", data, "--max-steps", "2", "--config", config,
                        "--out", str(out), "--json")
    assert_plain_failure(result, title)
    assert json.loads(result.stdout)["ok"] is False
    assert not out.exists()


def test_a_full_disk_mid_run_fails_plainly_without_half_written_files(dataset, tmp_path, monkeypatch, capsys):
    """The disk fills while a checkpoint is written: what a real full disk raises is OSError(ENOSPC)."""
    import peft.peft_model

    from peftstudio.cli import main

    real_save = peft.peft_model.safe_save_file

    def save_until_disk_is_full(tensors, filename, metadata=None):
        Path(filename).write_bytes(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device", filename)

    monkeypatch.setattr(peft.peft_model, "safe_save_file", save_until_disk_is_full)
    out = tmp_path / "run"
    code = main(["train", "--model", DEMO_MODEL_ID, "--dataset", str(dataset), "--max-steps", "3",
                 "--config", SMALL, "--out", str(out)])
    monkeypatch.setattr(peft.peft_model, "safe_save_file", real_save)
    captured = capsys.readouterr()
    assert code == 1
    assert "The disk is full" in captured.err and "Traceback" not in captured.err
    assert not (out / "adapter").exists() and not (out / "adapter.tmp").exists()
    assert not list((out / "checkpoints").glob("checkpoint-*"))  # the half-written one was removed
    assert [e["status"] for e in read_events(out / "events.jsonl") if e["type"] == "status"][-1] == "failed"


def test_too_little_free_space_is_refused_before_starting(dataset, tmp_path, monkeypatch, capsys):
    import shutil

    from peftstudio.cli import main

    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage._replace(free=10 * 2**20))
    out = tmp_path / "run"
    code = main(["train", "--model", DEMO_MODEL_ID, "--dataset", str(dataset), "--out", str(out)])
    assert code == 1 and "The disk is full" in capsys.readouterr().err
    assert not out.exists()


def test_help_answers_without_importing_torch():
    code = "import sys; from peftstudio.cli import build_parser; build_parser(); print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False"


def test_settings_files_are_read_with_a_bound_and_never_block(tmp_path):
    """--config on a device, a FIFO or a huge file ends at once in plain words (it read /dev/zero without bound
    and blocked forever on a FIFO); --max-steps has a ceiling a desktop run can mean."""
    import os
    import subprocess
    import sys

    dataset = tmp_path / "d.json"
    dataset.write_text('[{"instruction": "a", "output": "b"}]', encoding="utf-8")
    fifo = tmp_path / "settings.fifo"
    os.mkfifo(fifo)
    huge = tmp_path / "huge.json"
    huge.write_bytes(b"{" + b" " * (2 << 20) + b"}")
    cases = [(["--config", "/dev/zero"], "is not a regular file"), (["--config", str(fifo)], "is not a regular file"),
             (["--config", str(huge)], "is over 1 MB"), (["--max-steps", str(10**60)], "from 1 to 10,000,000")]
    for extra, words in cases:
        done = subprocess.run([sys.executable, "-m", "peftstudio", "train", "--dataset", str(dataset), *extra],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 1 and words in done.stdout + done.stderr, (extra, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr
