"""Preference tuning through TRL inside our session: the demo model learns a preference it does not have (answers
that end with a sign-off over otherwise identical ones) by DPO, ORPO and, from thumbs only, KTO; DPO pauses and
resumes with the same losses and survives a kill; preference files are recognised and checked; feedback given on
a version becomes a dataset that trains."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from helpers import small_config, tiny_llama_folder
from peftstudio.engine.runs.events import Status, read_events
from peftstudio.engine.training.session import TrainingSession

SIGN_OFF = " Cheers!"


def pairs(count: int, offset: int = 0) -> list[dict]:
    return [{"prompt": f"What is {i} plus {i}?", "chosen": f"{i} plus {i} is {2 * i}.{SIGN_OFF}",
             "rejected": f"{i} plus {i} is {2 * i}."} for i in range(offset, offset + count)]


def write_jsonl(path, rows):
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def pair_file(tmp_path_factory):
    return write_jsonl(tmp_path_factory.mktemp("pairs") / "pairs.jsonl", pairs(40))


@pytest.fixture(scope="module")
def held_out():
    from peftstudio.engine.data.preference import preference_example

    return [preference_example(r, "preference") for r in pairs(12, offset=100)]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, demo_folder):
    return tiny_llama_folder(tmp_path_factory.mktemp("tiny") / "llama", demo_folder)


def held_out_accuracy(session, held_out) -> tuple[float, float]:
    from peftstudio.engine.evaluation.preference_accuracy import preference_accuracy

    model = session.model
    tuned = preference_accuracy(model, session.tokenizer, held_out)
    with model.disable_adapter():
        base = preference_accuracy(model, session.tokenizer, held_out)
    return base, tuned


@pytest.mark.parametrize("method,lr", [("dpo", 3e-3), ("orpo", 3e-3)])
def test_pairs_teach_the_preference_the_base_model_lacks(method, lr, pair_file, held_out):
    session = TrainingSession.create(small_config(pair_file, max_steps=8, batch_size=2, training_method=method,
                                                  learning_rate=lr, validation_split=0.2, save_steps=1000,
                                                  eval_strategy="no"))
    assert session.run() == Status.COMPLETED, session.error and session.error.what
    base, tuned = held_out_accuracy(session, held_out)
    assert base <= 0.25 and tuned >= 0.75, (method, base, tuned)
    summary = session.summary
    assert summary["preference_accuracy"] >= 0.75 > summary["base_preference_accuracy"]
    metrics = [e for e in read_events(session.events.path) if e["type"] == "metrics" and not e["heartbeat"]]
    assert all("preference_accuracy" in m and "reward_margin" in m for m in metrics)  # the dashboard's curves
    assert metrics[-1]["train_tokens"] > 0 and metrics[-1]["samples_per_second"] > 0


def test_kto_learns_it_from_thumbs_alone(tmp_path, held_out):
    thumbs = [{"prompt": p["prompt"], "completion": p[side], "label": side == "chosen"}
              for p in pairs(40) for side in ("chosen", "rejected")]
    data = write_jsonl(tmp_path / "thumbs.jsonl", thumbs)
    session = TrainingSession.create(small_config(data, max_steps=8, batch_size=4, training_method="kto",
                                                  learning_rate=3e-3, validation_split=0.1, save_steps=1000,
                                                  eval_strategy="no"))
    assert session.run() == Status.COMPLETED, session.error and session.error.what
    base, tuned = held_out_accuracy(session, held_out)
    assert base <= 0.25 and tuned >= 0.75, (base, tuned)


def test_dpo_pauses_and_resumes_with_the_same_losses(tiny, pair_file):
    def run(pause_at=None):
        session = TrainingSession.create(small_config(pair_file, model_path=str(tiny), max_steps=6,
                                                      training_method="dpo", save_steps=100, eval_strategy="no",
                                                      lora_dropout=0.0))
        if pause_at:
            session.events.listeners.append(lambda e: e["type"] == "metrics" and e.get("step") == pause_at and
                                            not e["heartbeat"] and session.pause())
            assert session.run() == Status.PAUSED
            session.events.listeners.clear()
        assert session.run() == Status.COMPLETED, session.error and session.error.what
        return {e["step"]: e["loss"] for e in read_events(session.events.path)
                if e["type"] == "metrics" and not e["heartbeat"]}

    straight, resumed = run(), run(pause_at=3)
    assert set(straight) == set(resumed) == set(range(1, 7))
    for step in straight:
        assert abs(straight[step] - resumed[step]) < 1e-5, (step, straight[step], resumed[step])


def test_a_killed_dpo_run_resumes_from_its_checkpoint(tiny, pair_file, tmp_path):
    out = tmp_path / "run"
    small = json.dumps({"batch_size": 4, "max_seq_length": 96, "save_steps": 2, "eval_strategy": "no"})
    process = subprocess.Popen([sys.executable, "-m", "peftstudio", "train", "--model", str(tiny), "--dataset",
                                str(pair_file), "--method", "dpo", "--max-steps", "12", "--config", small, "--out",
                                str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    try:
        while time.time() < deadline:
            if any(e["type"] == "checkpoint" for e in read_events(out / "events.jsonl")):
                break
            assert process.poll() is None, "training ended before it could be killed"
            time.sleep(0.1)
        else:
            raise AssertionError("no checkpoint within 300 s")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    result = subprocess.run([sys.executable, "-m", "peftstudio", "train", "--resume", str(out), "--json"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout)["summary"]["steps"] == 12
    logged = {e["step"] for e in read_events(out / "events.jsonl") if e["type"] == "metrics" and not e["heartbeat"]}
    assert logged == set(range(1, 13))


def test_preference_files_are_recognised_and_checked(tmp_path):
    from peftstudio.engine.data import validate_file

    rows = pairs(20) + [{"prompt": "Hi", "chosen": "Same.", "rejected": "Same."},
                        {"prompt": "Hi", "chosen": "", "rejected": "No."},
                        {"prompt": "Hi", "chosen": [{"role": "user", "content": "oops"}], "rejected": "No."}]
    report = validate_file(write_jsonl(tmp_path / "p.jsonl", rows), min_examples=10)
    assert report.schema.name == "preference" and report.rows_usable == 20
    codes = {r.code: r for r in report.results}
    assert {"identical_pair", "empty_value", "broken_conversation", "length_bias"} <= set(codes)
    assert codes["identical_pair"].row == 21 and codes["identical_pair"].level == "error"
    kto = [{"prompt": f"Q{i}", "completion": f"A{i}", "label": i % 2 == 0} for i in range(12)]
    report = validate_file(write_jsonl(tmp_path / "k.jsonl", kto), min_examples=10)
    assert report.schema.name == "kto" and report.rows_usable == 12 and report.exit_code == 0


def test_pair_methods_refuse_thumbs_only_data_plainly(tmp_path):
    from peftstudio.engine.errors import PlainError
    from peftstudio.engine.training.preference import prepare_preferences

    data = write_jsonl(tmp_path / "k.jsonl", [{"prompt": "Q", "completion": "A", "label": True}] * 4)
    with pytest.raises(PlainError) as error:
        prepare_preferences(small_config(data, training_method="dpo"))
    assert "KTO" in error.value.actions[0]


def test_feedback_on_a_version_becomes_a_dataset_that_trains(tiny, tmp_path):
    from peftstudio.engine.history.feedback import export_feedback, read_feedback, record_feedback

    run = tmp_path / "judged"
    run.mkdir()
    for p in pairs(6):
        prompt = [{"role": "user", "content": p["prompt"]}]
        record_feedback(run, "pair", prompt, chosen=p["chosen"], rejected=p["rejected"])
        record_feedback(run, "thumbs", prompt, answer=p["rejected"], good=False)
    record_feedback(run, "edit", [{"role": "user", "content": "Hi"}], original="Hello.", edited=f"Hello.{SIGN_OFF}")
    with open(run / "feedback.jsonl", "a", encoding="utf-8") as handle:
        handle.write('{"kind": "pair", "prompt": [')  # a crash mid-line loses only that line
    assert len(read_feedback(run)) == 13
    rows, method = export_feedback(run, tmp_path / "feedback.jsonl")
    assert (rows, method) == (7, "dpo")  # six pairs and the edit; pairs make a DPO dataset
    session = TrainingSession.create(small_config(tmp_path / "feedback.jsonl", model_path=str(tiny), max_steps=2,
                                                  training_method=method, eval_strategy="no"))
    assert session.run() == Status.COMPLETED, session.error and session.error.what

    thumbs_only = tmp_path / "thumbs-run"
    thumbs_only.mkdir()
    record_feedback(thumbs_only, "thumbs", [{"role": "user", "content": "Hi"}], answer="Hello!", good=True)
    assert export_feedback(thumbs_only, tmp_path / "thumbs.jsonl") == (1, "kto")
