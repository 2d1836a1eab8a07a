"""Issue 40's hostile battery: what a careless or hostile new user can hand the CLI, each probe answered with exit
0, 1 or 2, a true plain message (its title checked), no traceback, in bounded time and memory, and nothing
written outside the intended place.

Probes that could block or blow up (a FIFO, /dev/zero, huge numbers, a 200k-token example) run in their own
process under caps; the rest run in this process through `peftstudio.cli.main` (the same code, cheaper)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from helpers import tiny_llama_folder
from test_hostile_inputs import MEASURED_CLI

MEMORY_CAP = 1.5 * 2**30
TIME_CAP = 120.0
ROWS = [{"instruction": f"What is {i} plus {i}?", "output": f"{i} plus {i} is {2 * i}."} for i in range(24)]


def _jsonl(rows) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


def _chat(*turns) -> dict:
    return {"messages": [{"role": role, "content": text} for role, text in turns]}


@pytest.fixture(scope="module")
def world(tmp_path_factory, demo_folder):
    """Files and one tiny completed run (random-weight Llama, real tokenizer: trains in seconds)."""
    from peftstudio.engine.config import TrainingConfig
    from peftstudio.engine.runs.events import Status
    from peftstudio.engine.training.session import TrainingSession

    root = tmp_path_factory.mktemp("battery")
    model = tiny_llama_folder(root / "tiny-llama", demo_folder)
    data = root / "data.jsonl"
    data.write_text(_jsonl(ROWS))
    config = TrainingConfig(model_name=str(model), dataset_path=str(data), max_steps=2, batch_size=4,
                            max_seq_length=64, save_steps=1, lora_r=4, lora_alpha=8, eval_strategy="no")
    session = TrainingSession.create(config, root / "runs" / "done")
    assert session.run() == Status.COMPLETED, session.error
    session.close()
    return {"root": root, "model": model, "data": data, "run": session.run_dir}


def copy_run(world, name: str) -> Path:
    target = world["root"] / "copies" / name
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(world["run"], target, ignore=shutil.ignore_patterns(".lock"))
    info = json.loads((target / "run.json").read_text())
    (target / "run.json").write_text(json.dumps(info | {"id": name, "folder": str(target)}))
    return target


def write(world, name: str, content: str | bytes) -> Path:
    path = world["root"] / "files" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def broken_model(world, name: str, change: Callable[[Path], None]) -> Path:
    target = world["root"] / "models" / name
    if not target.exists():
        shutil.copytree(world["model"], target)
        change(target)
    return target


# ---- the probes: (argv from the world, exit codes allowed, phrase the message must hold) -------------------
@dataclass
class Probe:
    args: Callable[[dict], list[str]]
    codes: tuple[int, ...]
    says: str  # a phrase of the plain message (its title or the report's finding)
    isolated: bool = False  # run in a process of its own, with time and memory caps


def validate_probe(name, content, codes, says, isolated=False):
    return Probe(lambda w: ["validate", str(write(w, name, content)), "--json"], codes, says, isolated)


def xlsx() -> bytes:
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    return buffer.getvalue()


def zipped() -> bytes:
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("data.jsonl", _jsonl(ROWS))
    return buffer.getvalue()


def fifo(world) -> Path:
    path = world["root"] / "files" / "pipe.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        os.mkfifo(path)
    return path


def symlink_loop(world) -> Path:
    a, b = world["root"] / "files" / "loop-a.jsonl", world["root"] / "files" / "loop-b.jsonl"
    a.parent.mkdir(parents=True, exist_ok=True)
    if not a.is_symlink():
        a.symlink_to(b)
        b.symlink_to(a)
    return a


def odd_name(world, name: str) -> Path:
    return write(world, name, _jsonl(ROWS))


def train(world, *extra, out=None):
    out = out or world["root"] / "trained" / f"run-{time.monotonic_ns()}"
    return ["train", "--model", str(world["model"]), "--dataset", str(world["data"]), "--out", str(out),
            "--config", json.dumps({"batch_size": 4, "max_seq_length": 64, "lora_r": 4, "eval_strategy": "no"}),
            *extra]


def raising_template(folder: Path) -> None:
    config = json.loads((folder / "tokenizer_config.json").read_text())
    config["chat_template"] = "{{ raise_exception('This template refuses every conversation') }}"
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    (folder / "chat_template.jinja").unlink(missing_ok=True)


def tampered(world, name: str, change: Callable[[Path], None]) -> Path:
    run = copy_run(world, name)
    change(run)
    return run


def _cut_events(run: Path) -> None:
    with open(run / "events.jsonl", "a") as handle:
        handle.write('{"type": "metrics", "step": 9, "lo')


def _checkpoint_as_file(run: Path) -> None:
    checkpoint = sorted((run / "checkpoints").glob("checkpoint-*"))[-1]
    shutil.rmtree(checkpoint)
    checkpoint.write_text("not a folder")


def _paused(run: Path) -> None:
    """A run that can be resumed: its last status 'paused' (what a Ctrl+C leaves)."""
    with open(run / "events.jsonl", "a") as handle:
        handle.write(json.dumps({"type": "status", "status": "paused", "time": time.time()}) + "\n")
    (run / "adapter").exists() and shutil.rmtree(run / "adapter")


PROBES: dict[str, Probe] = {
    # dataset content
    "role order broken": validate_probe("roles.jsonl", _jsonl(
        [_chat(("user", "a"), ("user", "b"), ("assistant", "c"))] * 3 + [_chat(("user", "q"), ("assistant", "a"))] * 20),
        (0,), "two turns in a row from the same speaker"),
    "empty assistant turns": validate_probe("empty-replies.jsonl", _jsonl(
        [_chat(("user", "q"), ("assistant", ""))] * 4 + [_chat(("user", "q"), ("assistant", "a"))] * 20),
        (1,), "no prompt with a reply"),
    "system-only conversations": validate_probe("system-only.jsonl", _jsonl(
        [_chat(("system", "You are terse."))] * 5), (1, 2), "no prompt with a reply"),
    "assistant opens alone": validate_probe("opening.jsonl", _jsonl(
        [_chat(("assistant", "Hi"), ("user", "bye"))] * 3 + [_chat(("user", "q"), ("assistant", "a"))] * 20),
        (1,), "no user message answered by the assistant"),
    "keys differ per line": validate_probe("mixed-keys.jsonl", _jsonl(
        ROWS[:12] + [{"prompt": "p", "completion": "c"}] * 6 + [{"question": "q", "answer": "a"}] * 6),
        (1,), "its keys are completion, prompt: the file mixes formats"),
    "numbers and booleans as content": validate_probe("typed.jsonl", _jsonl(
        [{"instruction": 5, "output": True}, {"instruction": None, "output": 3.5}] + ROWS), (1,), "Row 2 has no"),
    "zero-width and right-to-left characters": validate_probe("bidi.jsonl", _jsonl(
        [{"instruction": "pay\u200b\u202eadmin\u202c", "output": "ok\u2066x\u2069"}] + ROWS), (0,),
        "right-to-left"),
    "10k CSV columns": validate_probe("wide.csv", ",".join(["instruction", "output"] + [f"c{i}" for i in range(10_000)])
                                      + "\n" + ("q,a" + ",v" * 10_000 + "\n") * 30, (0,), "repeats row 2"),
    "an xlsx workbook": validate_probe("book.xlsx", xlsx(), (2,), "not a dataset"),
    "a gzip file": validate_probe("data.jsonl.gz", __import__("gzip").compress(_jsonl(ROWS).encode()), (2,),
                                  "gzip archive"),
    "a zip file": validate_probe("data.zip", zipped(), (2,), "not a dataset"),
    "a symlink loop": Probe(lambda w: ["validate", str(symlink_loop(w)), "--json"], (1, 2), "a loop of links"),
    "/dev/zero as the dataset": Probe(lambda w: ["validate", "/dev/zero", "--json"], (1, 2), "not a regular file",
                                      isolated=True),
    "a FIFO as the dataset": Probe(lambda w: ["validate", str(fifo(w)), "--json"], (1, 2), "not a regular file",
                                   isolated=True),
    "a newline in the path": Probe(lambda w: ["validate", str(odd_name(w, "new\nline.jsonl")), "--json"], (0,), ""),
    "quotes in the path": Probe(lambda w: ["validate", str(odd_name(w, "it's \"quoted\".jsonl")), "--json"], (0,), ""),
    "a single 200k-token example": Probe(lambda w: ["validate", str(write(w, "huge.jsonl", _jsonl(
        [{"instruction": "word " * 200_000, "output": "x"}] + ROWS))), "--model", str(w["model"]), "--json"],
        (0, 1), "token", isolated=True),
    "a train dataset that is a FIFO": Probe(lambda w: ["train", "--model", str(w["model"]), "--dataset",
                                                       str(fifo(w)), "--max-steps", "1"], (1,), "not a regular file",
                                            isolated=True),
    # numeric flags at zero, negative, huge, NaN and inf
    "--max-steps 0": Probe(lambda w: train(w, "--max-steps", "0"), (1, 2), "max_steps"),
    "--max-steps -3": Probe(lambda w: train(w, "--max-steps", "-3"), (1, 2), "max_steps"),
    "--max-steps 10^60": Probe(lambda w: train(w, "--max-steps", "1" + "0" * 60), (1, 2), "max_steps"),
    "--max-steps nan": Probe(lambda w: train(w, "--max-steps", "nan"), (2,), "invalid"),
    "--max-steps inf": Probe(lambda w: train(w, "--max-steps", "inf"), (2,), "invalid"),
    "--processes 0": Probe(lambda w: train(w, "--max-steps", "1", "--processes", "0"), (1, 2), "processes"),
    "--processes 10^9": Probe(lambda w: train(w, "--max-steps", "1", "--processes", "1000000000"), (1, 2),
                              "processes"),
    "learning rate NaN in --config": Probe(lambda w: train(w, "--max-steps", "1", "--config",
                                                           '{"learning_rate": NaN}'), (1,), "learning rate must be"),
    "learning rate 1e999 in --config": Probe(lambda w: train(w, "--max-steps", "1", "--config",
                                                             '{"learning_rate": 1e999}'), (1,), "learning_rate"),
    "lora_r 0 in --config": Probe(lambda w: train(w, "--max-steps", "1", "--config", '{"lora_r": 0}'), (1,),
                                  "lora_r"),
    "chat --max-new-tokens 0": Probe(lambda w: ["chat", str(w["run"]), "--prompt", "hi", "--max-new-tokens", "0"],
                                     (1, 2), "max-new-tokens"),
    "chat --max-new-tokens -5": Probe(lambda w: ["chat", str(w["run"]), "--prompt", "hi", "--max-new-tokens", "-5"],
                                      (1, 2), "max-new-tokens"),
    "chat --temperature nan": Probe(lambda w: ["chat", str(w["run"]), "--prompt", "hi", "--temperature", "nan"],
                                    (1, 2), "temperature"),
    "chat --top-p 5": Probe(lambda w: ["chat", str(w["run"]), "--prompt", "hi", "--top-p", "5"], (1, 2), "top"),
    "eval --limit 0": Probe(lambda w: ["eval", str(w["run"]), "--limit", "0"], (2,), "must be 1 or more"),
    "eval --limit -2": Probe(lambda w: ["eval", str(w["run"]), "--limit", "-2"], (2,), "must be 1 or more"),
    "validate --max-seq-length 0": Probe(lambda w: ["validate", str(w["data"]), "--max-seq-length", "0"], (1, 2),
                                         "max-seq-length"),
    "validate --max-seq-length inf": Probe(lambda w: ["validate", str(w["data"]), "--max-seq-length", "inf"],
                                           (2,), "invalid"),
    # models
    "a model path that is a file": Probe(lambda w: ["train", "--model", str(w["data"]), "--dataset",
                                                    str(w["data"]), "--max-steps", "1"], (1,), "model"),
    "a folder with a malformed config.json": Probe(lambda w: ["train", "--model", str(broken_model(
        w, "bad-config", lambda f: (f / "config.json").write_text("{ not json"))), "--dataset", str(w["data"]),
        "--max-steps", "1", "--out", str(w["root"] / "never-bad-config")], (1,), "config.json"),
    "a .gguf file that is not GGUF": Probe(lambda w: ["chat", str(write(w, "fake.gguf", b"not a gguf file" * 100)),
                                                      "--prompt", "hi"], (1,), "GGUF"),
    "a chat template that raises": Probe(lambda w: ["train", "--model", str(broken_model(
        w, "raising-template", raising_template)), "--dataset", str(w["data"]), "--max-steps", "1",
        "--out", str(w["root"] / "never-template")], (1,), "chat template"),
    # run-folder tampering, then runs, chat, export and continue
    "run.json invalid, runs show": Probe(lambda w: ["runs", "show", str(tampered(
        w, "bad-json", lambda r: (r / "run.json").write_text("{oops")))], (1,), "The run's record is damaged"),
    "run.json pointing outside": Probe(lambda w: ["runs", "show", str(tampered(
        w, "outside", lambda r: (r / "run.json").write_text(json.dumps(
            {"id": "outside", "folder": "/etc", "status": "completed"}))))], (0,), "copies/outside"),
    "adapter deleted, chat": Probe(lambda w: ["chat", str(tampered(
        w, "no-adapter-chat", lambda r: shutil.rmtree(r / "adapter"))), "--prompt", "hi"], (1,), "completed, but its adapter folder"),
    "adapter deleted, export": Probe(lambda w: ["export", str(tampered(
        w, "no-adapter-export", lambda r: shutil.rmtree(r / "adapter"))), "--format", "hf", "--out",
        str(w["root"] / "never-export")], (1,), "The run's adapter is missing"),
    "events.jsonl cut mid-line, runs show": Probe(lambda w: ["runs", "show", str(tampered(
        w, "cut-events", _cut_events))], (0,), "completed"),
    "a checkpoint replaced by a file, resume": Probe(lambda w: ["train", "--resume", str(tampered(
        w, "checkpoint-file", lambda r: (_checkpoint_as_file(r), _paused(r))))], (0, 1), ""),
    "continue from a version whose adapter was deleted": Probe(lambda w: train(
        w, "--max-steps", "1", "--continue", continue_target(w)), (1,), "That version's adapter is missing"),
}


def continue_target(world) -> str:
    """A version whose run's adapter was then deleted (the run folder itself is kept)."""
    from peftstudio.engine.config import TrainingConfig
    from peftstudio.engine.history import default_store
    from peftstudio.engine.history.versions import list_versions
    from peftstudio.engine.runs.events import Status
    from peftstudio.engine.training.session import TrainingSession

    data = world["root"] / "orphan.jsonl"
    data.write_text(_jsonl(ROWS))
    config = TrainingConfig(model_name=str(world["model"]), dataset_path=str(data), max_steps=1, batch_size=4,
                            max_seq_length=64, lora_r=4, lora_alpha=8, eval_strategy="no")
    session = TrainingSession.create(config, world["root"] / "runs" / f"orphan-{time.monotonic_ns()}")
    assert session.run() == Status.COMPLETED, session.error
    session.close()
    shutil.rmtree(session.run_dir / "adapter")
    version = next(v for v in list_versions(default_store()) if v["run_id"] == session.run_dir.name)
    return f"{version['model_name']}@{version['version']}"


@pytest.mark.parametrize("name", list(PROBES))
def test_hostile_probe_gets_a_plain_answer(name, world, capsys):
    probe = PROBES[name]
    argv = probe.args(world)
    started = time.perf_counter()
    if probe.isolated:
        result = subprocess.run([sys.executable, "-c", MEASURED_CLI, *argv], capture_output=True, text=True,
                                timeout=TIME_CAP * 2)
        code, out, err = result.returncode, result.stdout, result.stderr
        peak = int(err.rsplit("PEAK_RSS_KB=", 1)[1].split()[0]) * 1024
        assert peak < MEMORY_CAP, f"{name}: {peak / 2**20:.0f} MB"
    else:
        from peftstudio.cli import main

        try:
            code = main(argv)
        except SystemExit as exit_:  # argparse's usage errors
            code = exit_.code
        captured = capsys.readouterr()
        out, err = captured.out, captured.err
    seconds = time.perf_counter() - started
    text = out + err
    assert code in probe.codes, f"{name}: exit {code}\n{text[-3000:]}"
    assert "Traceback" not in text, text[-3000:]
    assert "Something unexpected went wrong" not in text, f"{name}: the generic message\n{text[-3000:]}"
    assert probe.says.lower() in text.lower(), f"{name}: {probe.says!r} not in\n{text[-3000:]}"
    assert seconds < TIME_CAP, f"{name}: {seconds:.0f} s"
    for never in ("never-bad-config", "never-template", "never-export"):
        assert not (world["root"] / never).exists(), f"{name} left {never} behind"


def test_two_trainings_into_one_folder_at_once_leave_one_whole_run(world):
    """Both start together: one trains, the other is refused plainly; the folder holds one consistent run."""
    out = world["root"] / "raced"
    argv = [sys.executable, "-m", "peftstudio", *train(world, "--max-steps", "2", out=out)]
    first, second = (subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                     for _ in range(2))
    results = [(p.wait(timeout=300), *p.communicate()) for p in (first, second)]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 1], results
    refused = next(err for code, _, err in results if code == 1)
    assert "Traceback" not in refused and "Something unexpected" not in refused
    assert "The run folder is not empty" in refused or "open in another window or process" in refused, refused
    assert json.loads((out / "run.json").read_text())["status"] == "completed"
    assert sorted(p.name for p in out.parent.iterdir() if p.name.startswith((".raced", "raced"))) == ["raced"]
