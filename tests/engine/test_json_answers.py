"""JSON answers with a schema: the scorecard counts answers that follow it, and a GGUF export carries it as a
llama.cpp grammar under which every held-back answer follows it (llama.cpp's own JSON-schema grammar)."""
from __future__ import annotations

import json
import random
import subprocess
import sys

import pytest

from helpers import small_config
from peftstudio.engine.evaluation.metrics import schema_problem, schema_valid_rate
from peftstudio.engine.runs.events import Status
from peftstudio.engine.training.session import TrainingSession

SCHEMA = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"},
                                           "city": {"type": "string"}},
          "required": ["name", "age", "city"], "additionalProperties": False}
NAMES = ["Anna", "Marco", "Lena", "Tom", "Sara", "Ivan", "Mia", "Omar"]
CITIES = ["Rome", "Paris", "Oslo", "Lima", "Cairo", "Kyoto"]


def rows(count: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        name, age, city = rng.choice(NAMES), rng.randint(18, 80), rng.choice(CITIES)
        out.append({"instruction": f"Extract the person as JSON: {name} is {age} and lives in {city}.",
                    "output": json.dumps({"name": name, "age": age, "city": city})})
    return out


def test_schema_problems_are_named_in_a_few_words():
    assert schema_problem('{"name": "Anna", "age": 31, "city": "Rome"}', SCHEMA) is None
    assert schema_problem('```json\n{"name": "Anna", "age": 31, "city": "Rome"}\n```', SCHEMA) is None
    assert schema_problem('{"name": "Anna", "age": "31", "city": "Rome"}', SCHEMA).startswith("age: ")
    assert "city" in schema_problem('{"name": "Anna", "age": 31}', SCHEMA)
    assert schema_problem("Anna is 31.", SCHEMA) == "not valid JSON"
    assert schema_valid_rate(['{"name": "A", "age": 1, "city": "B"}', "no"], SCHEMA) == 0.5


def test_a_schema_that_is_not_one_is_refused_in_plain_words(tmp_path):
    dataset = tmp_path / "people.json"
    dataset.write_text(json.dumps(rows(8, 0)), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "peftstudio", "train", "--dataset", str(dataset),
                           "--answer-schema", '{"type": 12}'],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "answer schema is not a usable json schema" in (done.stdout + done.stderr).lower()
    huge = tmp_path / "schema.json"
    huge.write_bytes(b"{" + b" " * (2 << 20) + b"}")
    done = subprocess.run([sys.executable, "-m", "peftstudio", "train", "--dataset", str(dataset),
                           "--answer-schema", str(huge)], capture_output=True, text=True, timeout=300)
    assert done.returncode != 0 and "over 1 MB" in done.stdout + done.stderr


@pytest.fixture(scope="module")
def json_run(tmp_path_factory):
    """About a minute on 2 CPU cores: 40 sentences to JSON, 10 steps of 4."""
    folder = tmp_path_factory.mktemp("json")
    dataset = folder / "people.json"
    dataset.write_text(json.dumps(rows(40, 1)), encoding="utf-8")
    session = TrainingSession.create(small_config(dataset, max_steps=10, batch_size=4, learning_rate=2e-3,
                                                  max_seq_length=128, save_steps=10, validation_split=0.2,
                                                  eval_strategy="no", answer_schema=json.dumps(SCHEMA)))
    session.folder.update_info(profile_id="json-answers")
    assert session.run() == Status.COMPLETED, session.error and session.error.what
    return session.folder.path


@pytest.mark.slow
def test_the_scorecard_counts_answers_that_follow_the_schema(json_run):
    from peftstudio.engine.evaluation import evaluate_run, headline

    card = evaluate_run(json_run, skills=False, limit=6)
    followed = card["task"]["all"]["json_schema_valid"]
    assert 0.0 <= followed["base"] <= 1.0 and followed["tuned"] >= 0.5, followed
    assert any(line.startswith("Answers that follow your JSON schema") for line in headline(card))
    print("follows the schema, base -> tuned:", followed)


@pytest.mark.slow
def test_a_gguf_export_carries_the_schema_as_a_grammar_that_llama_cpp_follows(json_run, tmp_path):
    from peftstudio.engine.export import export_run

    result = export_run(json_run, "ollama", tmp_path / "people", quant="q8_0")
    assert result.ok, result.report.problem
    assert json.loads((result.folder / "answer-schema.json").read_text()) == SCHEMA
    assert "root ::=" in (result.folder / "answer-grammar.gbnf").read_text()
    found = result.report.json_answers
    assert found["prompts"] == 8 and found["follows_schema_with_grammar"] == 1.0, found
    assert "`format`" in (result.folder / "README.md").read_text(encoding="utf-8")
    assert "## JSON answers" in (result.folder / "VERIFICATION.md").read_text(encoding="utf-8")
    print("llama.cpp, follows the schema without / with the grammar:", found["follows_schema"],
          found["follows_schema_with_grammar"])


@pytest.mark.slow
def test_the_playground_checks_answers_against_the_schema(qtbot, json_run):
    from peftstudio.ui.playground import PlaygroundWidget

    playground = PlaygroundWidget(json_run)
    qtbot.addWidget(playground)
    playground.sampling_form.widgets["temperature"].setValue(0)
    playground.input.setText("Extract the person as JSON: Lena is 44 and lives in Oslo.")
    playground.send_button.click()
    qtbot.waitUntil(lambda: playground.worker.isFinished(), timeout=300_000)
    assert playground.json_check.text() == "Valid JSON that follows your schema.", playground.answers["tuned"]
    playground._check_json('{"name": "Lena", "age": "44", "city": "Oslo"}')
    assert "does not follow your schema: age: " in playground.json_check.text()
    playground._check_json("Lena <is> 44")
    assert playground.json_check.text().endswith("Not valid JSON.</span>")
