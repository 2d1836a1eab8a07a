"""The scorecard on real runs of the demo model: the task learned, forgetting after over-training, and the judge
against a real OpenAI-compatible server (llama.cpp's, with the demo GGUF) and a local transformers judge."""
from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from helpers import signature_rows, small_config
from peftstudio.engine.evaluation import general_skills
from peftstudio.engine.evaluation.judge import judge_pairs, openai_judge, transformers_judge, wilson
from peftstudio.engine.evaluation.metrics import (chrf, exact_match, json_equal, json_valid, mean_score, metrics_for,
                                                  rouge_l, token_f1)
from peftstudio.engine.evaluation.scorecard import evaluate_run, headline, save_scorecard

pytestmark = pytest.mark.slow


def test_metrics_and_the_interval_behave():
    assert exact_match("The Paris.", "paris") == 1.0 and token_f1("Paris is big", "Paris") == pytest.approx(0.5)
    assert rouge_l("the cat sat on the mat", "the cat sat on the mat") == pytest.approx(1.0)
    assert chrf("Signed, Zorblax.", "Signed, Zorblax.") > chrf("Hello there.", "Signed, Zorblax.")
    low, high = wilson(15, 20)
    assert low < 0.75 < high and 0 <= low and high <= 1
    items = general_skills.load_items()
    assert len(items) >= 100 and len({i.category for i in items}) >= 5
    assert general_skills.is_correct(items[0], "The capital of France is Paris.")
    assert not general_skills.is_correct(items[0], "I like Parisian food")  # whole words only
    assert len(general_skills.load_items(20)) == 20 and len({i.category for i in general_skills.load_items(20)}) >= 5


def test_json_answers_are_scored_for_validity_and_equality():
    assert metrics_for("json-answers") == ("json_valid", "json_equal")
    reference = '{"name": "Anna", "age": 31}'
    assert json_valid('```json\n{"age": 31.0, "name": "Anna"}\n```', reference) == 1.0
    assert json_equal('{"age": 31.0,  "name": "Anna"}', reference) == 1.0  # key order, spacing, 31 == 31.0
    assert json_valid("Anna is 31.", reference) == 0.0 and json_equal('{"name": "Ann", "age": 31}', reference) == 0.0
    assert json_valid('{"name": "Anna", "age": 31', reference) == 0.0  # cut short
    answers = ['{"name": "Anna", "age": 31}', "Sure! Anna is 31.", '{"name": "Anna"}']
    assert mean_score("json_valid", answers, [reference] * 3) == pytest.approx(2 / 3)
    assert mean_score("json_equal", answers, [reference] * 3) == pytest.approx(1 / 3)


def test_the_fine_tuned_model_is_ahead_on_its_task(signed_run):
    card = evaluate_run(signed_run, skills=False)
    task = card["task"]
    assert task["metric"] == "chrf" and task["examples"] >= 1
    assert task["tuned"] > task["base"] + 0.1, task  # it learned to sign its answers
    assert any("Zorblax" in s["tuned"] for s in task["samples"]) and not any("Zorblax" in s["base"]
                                                                           for s in task["samples"])
    save_scorecard(signed_run, card)
    from peftstudio.engine.history import default_store, version_of_run

    stored = version_of_run(default_store(), signed_run.resolve())["metrics"]["scorecard"]
    assert stored["task_tuned"] == pytest.approx(task["tuned"])
    assert headline(card)[0].startswith("Your task (closeness to the reference answer (chrF)")


def test_an_over_trained_run_forgets_general_skills(tmp_path):
    from peftstudio.engine.training.session import TrainingSession

    dataset = tmp_path / "signature.json"
    dataset.write_text(json.dumps(signature_rows()), encoding="utf-8")
    session = TrainingSession.create(small_config(dataset, max_steps=24, learning_rate=1e-2, lora_r=16,
                                                  lora_alpha=32, save_steps=100))
    session.run()
    card = evaluate_run(session.run_dir, limit=2, skills_limit=40)
    skills = card["general_skills"]
    assert skills["tuned_accuracy"] < skills["base_accuracy"], skills
    assert skills["change_percent"] < 0 and skills["regressed"], skills
    assert any("worse at" in tip for tip in card["suggestions"])


PAIRS = (["What is the capital of France?", "Say hello."],
         ["I do not know.", "Hello!"],
         ["The capital of France is Paris.", "Goodbye."])


def test_a_judge_server_on_this_machine_judges_both_orders(llama_cpp_server):
    prompts, base, tuned = PAIRS
    result = judge_pairs(openai_judge(llama_cpp_server), prompts, base, tuned, "chatbot")
    assert result.judgments == 4 and len(result.verdicts) == 4
    assert [v["tuned_shown_as"] for v in result.verdicts] == ["A", "B", "A", "B"]  # each pair in both orders
    assert all(v["reply"] is not None and v["winner"] in ("tuned", "base", "tie") for v in result.verdicts)
    assert result.low <= result.win_rate <= result.high


def test_a_local_transformers_judge_judges_both_orders():
    from peftstudio.engine.models import DEMO_MODEL_ID

    prompts, base, tuned = PAIRS
    result = judge_pairs(transformers_judge(DEMO_MODEL_ID), prompts[:1], base[:1], tuned[:1], "question-answering")
    assert result.judgments == 2 and {v["tuned_shown_as"] for v in result.verdicts} == {"A", "B"}
    assert 0.0 <= result.win_rate <= 1.0


def test_eval_from_the_command_line_with_a_judge_server(signed_run, llama_cpp_server):
    done = subprocess.run([sys.executable, "-m", "peftstudio", "eval", str(signed_run), "--limit", "2",
                           "--no-skills", "--judge", llama_cpp_server, "--json"],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    card = json.loads(done.stdout)
    assert card["task"]["examples"] == 2 and card["judge"]["judgments"] == 4
    assert card["judge"]["judge"].startswith("OpenAI-compatible server") and card["judge"]["verdicts"]
    assert "Scorecard" in done.stderr  # the progress bar


def test_eval_limits_below_one_are_refused_and_skipped_skills_claim_nothing():
    from peftstudio.engine.evaluation.scorecard import suggestions

    for limit in ("0", "-2"):
        done = subprocess.run([sys.executable, "-m", "peftstudio", "eval", "some-run", "--limit", limit],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 2 and f"must be 1 or more, not {limit}" in done.stderr
    better = {"task": {"metric": "chrf", "base": 0.2, "tuned": 0.5, "examples": 4}}
    assert "nothing forgotten" not in suggestions(better)[0] and "were not checked" in suggestions(better)[0]
    checked = dict(better, general_skills={"regressed": [], "change_percent": 0.0})
    assert "nothing forgotten" in suggestions(checked)[0]


def test_eval_shows_time_left_and_a_first_ctrl_c_stops_after_the_batch_without_saving(signed_run):
    import signal
    import threading

    before = json.loads((signed_run / "run.json").read_text()).get("scorecard")
    process = subprocess.Popen([sys.executable, "-m", "peftstudio", "eval", str(signed_run), "--limit", "3"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    said: list[str] = []
    reader = threading.Thread(target=lambda: said.extend(iter(lambda: process.stderr.read(1), "")), daemon=True)
    reader.start()
    deadline = time.time() + 600
    while "left" not in "".join(said) and process.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    out = process.stdout.read()
    assert process.wait(timeout=300) == 0
    reader.join(timeout=10)
    progress = "".join(said)
    assert "held-back example" in progress and "left" in progress  # progress with the time left
    assert "Stopping after the current batch" in progress and "Traceback" not in progress
    assert "Stopped: what was scored so far is below; this partial scorecard was not saved." in out
    assert json.loads((signed_run / "run.json").read_text()).get("scorecard") == before
