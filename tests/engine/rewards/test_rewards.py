"""The built-in checkers, the --reward syntax and the user's reward file (consent, its own process, limits)."""
from __future__ import annotations

import json
import textwrap

import pytest

from peftstudio.engine.config import TrainingConfig
from peftstudio.engine.consent import grant_code, has_code_consent
from peftstudio.engine.errors import PlainError
from peftstudio.engine.rewards import CHECKERS, RewardSet, RewardSpec, UserReward, format_reward, parse_reward


def score(name: str, completion: str, reference=None, **arguments) -> float:
    return CHECKERS[name].score("prompt", completion, {}, reference, **arguments)


def test_each_builtin_checker_tells_a_good_answer_from_a_bad_one():
    assert score("exact", " Paris ", "paris") == 1.0 and score("exact", "Paris.", "Paris") == 0.0
    assert score("exact", "paris", "Paris", case="sensitive") == 0.0
    assert score("contains", "It is Paris, of course", "paris") == 1.0 and score("contains", "Rome", "Paris") == 0.0
    assert score("number", "so the total is 1,234.", "1234") == 1.0 and score("number", "about 12", "13") == 0.0
    assert score("number", "12.4", "12", tolerance="0.5") == 1.0
    assert score("math", "The answer is $\\frac{1}{2}$", "0.5") == 1.0 and score("math", "It is 3", "0.5") == 0.0
    assert score("json", '{"a": 1}') == 1.0 and score("json", "```json\n[1, 2]\n```") == 1.0
    assert score("json", "{a: 1}") == 0.0
    assert score("regex", "SELECT * FROM t", pattern="^SELECT ") == 1.0
    assert score("regex", "select x", pattern="^SELECT ") == 0.0
    assert score("length", "one two three", min="2", max="4") == 1.0
    assert 0.0 < score("length", "one two three four five six", min="2", max="4") < 1.0  # near: partial credit
    assert score("length", " ".join(["w"] * 40), min="2", max="4") == 0.0
    assert score("format", "<think>2+2 is 4</think> 4") == 1.0 and score("format", "4") == 0.0
    # the answer after a thinking block is what is checked
    assert score("exact", "<think>hmm, France</think>Paris", "Paris") == 1.0


def test_a_json_schema_is_checked(tmp_path):
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({"type": "object", "required": ["name"]}))
    assert score("json", '{"name": "x"}', schema=str(schema)) == 1.0
    assert score("json", '{"other": 1}', schema=str(schema)) == 0.0
    broken = tmp_path / "broken.json"
    broken.write_text('{"type": 12}')
    with pytest.raises(PlainError) as error:
        parse_reward(f"json:schema={broken}")
    assert error.value.title == "The JSON schema cannot be used"


@pytest.mark.parametrize("text", ["length:min=10,max=30*2", "json", "regex:pattern=^a,b*c", "number:tolerance=0.5"])
def test_the_reward_syntax_round_trips(text):
    spec = parse_reward(text)
    assert parse_reward(format_reward(spec)) == spec


def test_the_reward_syntax_reads_weights_and_patterns_with_commas_and_stars():
    assert parse_reward("length:min=10,max=30*2") == RewardSpec("length", {"min": "10", "max": "30"}, 2.0)
    assert parse_reward("regex:pattern=^a,b*c").arguments == {"pattern": "^a,b*c"}
    assert parse_reward("regex:pattern=^a,b*c").weight == 1.0


@pytest.mark.parametrize("text, says", [("nope", "no checker called 'nope'"), ("length:size=3", "not an argument"),
                                        ("json*-1", "negative"), ("regex", "needs pattern="),
                                        ("regex:pattern=(", "not a valid regular expression"),
                                        ("length:min=5,max=2", "0 <= min <= max")])
def test_a_bad_reward_is_a_plain_error_saying_what_is_wrong(text, says):
    with pytest.raises(PlainError) as error:
        parse_reward(text)
    assert says in error.value.what and error.value.actions


def test_a_reward_set_weights_and_totals():
    rewards = RewardSet.from_config(TrainingConfig(rewards=["length:min=1,max=3*2", "json"]))
    scores = rewards.score_all(["p", "p"], ["a b", '{"x": 1}'], [{}, {}])
    assert scores == {"length(min=1,max=3)": [1.0, 1.0], "json": [0.0, 1.0]}
    assert rewards.total(scores) == [2.0, 3.0]
    functions = rewards.trl_functions()  # TRL's calling convention: conversational completions, columns as lists
    assert [f.__name__ for f in functions] == rewards.labels
    completions = [[{"role": "assistant", "content": "a b"}], [{"role": "assistant", "content": "{}"}]]
    assert functions[1](prompts=["p", "p"], completions=completions, reference=[None, None]) == [0.0, 1.0]
    with pytest.raises(PlainError, match=""):
        RewardSet.from_config(TrainingConfig())  # GRPO without a reward


def _reward_file(tmp_path, body: str):
    path = tmp_path / "my_reward.py"
    path.write_text(textwrap.dedent(body))
    return path


def test_the_users_reward_file_never_runs_without_consent(tmp_path):
    marker = tmp_path / "ran"
    path = _reward_file(tmp_path, f"""
        open({str(marker)!r}, "w").write("imported")
        def reward(prompt, completion, **row):
            return 1.0
    """)
    with pytest.raises(PlainError) as error:
        RewardSet.from_config(TrainingConfig(reward_file=str(path)))
    assert error.value.title == "Run your own reward code?" and not marker.exists()
    grant_code(path)
    assert has_code_consent(path)
    path.write_text(path.read_text() + "\n# edited\n")  # an edited file asks again
    assert not has_code_consent(path)
    grant_code(path)
    rewards = RewardSet.from_config(TrainingConfig(reward_file=str(path)))
    try:
        assert rewards.score_all(["p"], ["c"], [{"row_number": 1}]) == {"file": [1.0]}
        assert marker.exists()
    finally:
        rewards.close()


@pytest.mark.parametrize("body, says", [
    ("def reward(prompt, completion, **row):\n    raise KeyError('answer')\n", "row 2 of the dataset: it raised KeyError"),
    ("def reward(prompt, completion, **row):\n    return 'good'\n", "row 2 of the dataset: it returned 'good'"),
    ("def reward(prompt, completion, **row):\n    return float('nan')\n", "row 2 of the dataset: it returned nan"),
    ("import time\ndef reward(prompt, completion, **row):\n    time.sleep(60)\n", "did not finish scoring"),
    ("def reward(:\n", "SyntaxError"),
])
def test_a_reward_that_raises_hangs_or_returns_no_number_is_a_plain_error(tmp_path, body, says):
    path = _reward_file(tmp_path, body)
    grant_code(path)
    reward = UserReward(str(path), time_limit_s=2.0)
    try:
        with pytest.raises(PlainError) as error:
            reward([(2, "prompt", "completion", {"reference": "x"})])
        assert says in error.value.what, error.value.what
        assert error.value.actions
    finally:
        reward.close()
