"""GRPO inside our session: prompts only, a checker's reward, TRL's GRPOTrainer behind our Runner's session; the
run logs its rewards and KL as events, measures held-back reward before and after, and a reward that breaks
mid-run ends in a plain error with the run's checkpoints kept."""
from __future__ import annotations

import json

import pytest

from helpers import small_config
from peftstudio.engine.consent import grant_code
from peftstudio.engine.runs.events import Status, read_events
from peftstudio.engine.data import prepare_prompts, prompt_row
from peftstudio.engine.training.session import TrainingSession

QUESTIONS = ["Name a colour.", "Say hello.", "What is 2+2?", "Name a fruit.", "Name an animal.", "Name a planet.",
             "What day comes after Monday?", "Name a country.", "Give a greeting.", "Name a tree.", "Name a drink.",
             "What is the capital of France?"]


# The skill: answer in at most 10 words. The demo model rarely does (it writes sentences), but sometimes does,
# so GRPO has answers to prefer; a format reward it never meets rides along, to check rewards are kept apart.
# Measured (held-back length reward, base -> tuned, this fixture's settings): seed 42 0.25 -> 0.55, seed 7
# 0.04 -> 0.65; with a 1-5 word window the signal was too sparse to rise reliably (seed 42: 0.12 -> 0.10).
THINGS = ["a colour", "a fruit", "an animal", "a planet", "a country", "a tree", "a drink", "a city", "a flower",
          "a river", "a sport", "a metal", "a bird", "a fish", "an insect", "a vegetable", "a language", "a game",
          "a tool", "an instrument"]
SKILL_PROMPTS = [f"{verb} {thing}." for thing in THINGS for verb in ("Name", "Tell me")]
TWO_REWARDS = ["length:min=1,max=10", "format*0.5"]
LABELS = {"length(min=1,max=10)", "format"}
HELD_BACK = 10  # a quarter of the 40 prompts


def write_jsonl(path, rows):
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def prompt_file(tmp_path_factory):
    return write_jsonl(tmp_path_factory.mktemp("prompts") / "prompts.jsonl", [{"prompt": q} for q in QUESTIONS])


def grpo_config(data, **overrides):
    settings = dict(training_method="grpo", rewards=["length:min=1,max=6"], max_steps=2, batch_size=2,
                    num_generations=2, max_completion_length=16, validation_split=0.25, save_steps=1,
                    logging_steps=1)
    settings.update(overrides)
    return small_config(data, **settings)


@pytest.fixture(scope="module")
def grpo_run(tmp_path_factory):
    """One run shared by the module: 16 steps of 2 prompts x 4 answers (about 2.5 minutes on 2 CPU cores)."""
    prompts = write_jsonl(tmp_path_factory.mktemp("skill") / "skill.jsonl", [{"prompt": q} for q in SKILL_PROMPTS])
    session = TrainingSession.create(grpo_config(prompts, rewards=TWO_REWARDS, max_steps=16, num_generations=4,
                                                 max_completion_length=24, learning_rate=5e-4, save_steps=8))

    def pause_at_eight(event):  # half way it pauses, and resumes (the run's tests check the whole of it)
        if event["type"] == "metrics" and event.get("step") == 8 and not event["heartbeat"]:
            session.pause()

    session.events.listeners.append(pause_at_eight)
    assert session.run() == Status.PAUSED
    session.events.listeners.remove(pause_at_eight)
    session.run()
    return session


def test_any_dataset_shape_gives_prompts_and_references(tmp_path):
    config = small_config(tmp_path / "x.jsonl", training_method="grpo", rewards=["exact"])
    assert prompt_row({"question": "2+2?", "answer": "4"}, 1, config) == \
        {"prompt": [{"role": "user", "content": "2+2?"}], "reference": "4", "row_number": 1}
    assert prompt_row({"instruction": "Add", "input": "2 and 2", "output": "4"}, 2, config)["reference"] == "4"
    assert prompt_row({"prompt": "Say hi"}, 3, config)["reference"] is None
    assert prompt_row({"unrelated": "x"}, 4, config) is None


def test_rewards_that_need_references_refuse_a_file_without_them(prompt_file):
    from peftstudio.engine.errors import PlainError

    with pytest.raises(PlainError) as error:
        prepare_prompts(grpo_config(prompt_file, rewards=["exact"]))
    assert error.value.title == "These rewards need reference answers"


@pytest.mark.slow
def test_a_grpo_run_logs_rewards_and_kl_and_measures_held_back_reward(grpo_run):
    info = grpo_run.folder.info()
    assert info["status"] == Status.COMPLETED
    events = list(read_events(grpo_run.folder.events_file))
    metrics = [e for e in events if e["type"] == "metrics" and not e.get("heartbeat")]
    assert metrics and all("reward" in m and "reward_std" in m and "kl" in m for m in metrics)
    assert all(set(m["rewards"]) == LABELS for m in metrics)
    assert all(m["completion_length"] > 0 for m in metrics)
    assert not [e for e in events if e["type"] == "anomaly"]  # a healthy run: no false alarm on a loss near 0
    summary = info["summary"]
    for side in ("base_reward", "reward"):
        assert summary[side]["prompts"] == HELD_BACK and 0.0 <= summary[side]["mean_reward"] <= 1.5
        assert set(summary[side]["by_reward"]) == LABELS
    quality = summary["quality"]  # judged by its reward, not by a held-back loss it does not have
    assert set(quality["parts"]) == {"improvement", "level", "pass_rate"} and quality["best_reward"] == 1.5
    assert quality["reward"] == summary["reward"]["mean_reward"]
    assert grpo_run.folder.adapter.is_dir()


@pytest.mark.slow
def test_grpo_teaches_the_skill_its_checker_rewards(grpo_run):
    summary = grpo_run.folder.info()["summary"]
    base, tuned = summary["base_reward"], summary["reward"]
    # held-back prompts, greedy answers: the length reward rose by a fifth of its full marks or more
    assert tuned["by_reward"]["length(min=1,max=10)"] >= base["by_reward"]["length(min=1,max=10)"] + 0.2
    assert tuned["pass_rate"] == 0.0 == base["pass_rate"]  # nothing passes both: the format reward is never met
    assert tuned["by_reward"]["format"] == 0.0


@pytest.mark.slow
def test_the_dashboard_draws_reward_spread_each_reward_kl_and_answer_length(grpo_run, qtbot):
    from peftstudio.ui.dashboard import DashboardWidget

    dashboard = DashboardWidget()
    qtbot.addWidget(dashboard)
    dashboard.load_run(grpo_run.folder.path)
    plots = dashboard.reward_plots
    assert not plots.isHidden()
    metrics = [e for e in read_events(grpo_run.folder.events_file)
               if e["type"] == "metrics" and "reward" in e and not e.get("heartbeat")]
    steps, rewards = plots.reward_curve.getData()
    assert list(steps) == [m["step"] for m in metrics] and list(rewards) == [m["reward"] for m in metrics]
    upper = plots.upper.getData()[1]
    assert list(upper) == [m["reward"] + m["reward_std"] for m in metrics]
    assert set(plots.by_reward) == LABELS
    assert list(plots.kl_curve.getData()[1]) == [m["kl"] for m in metrics]
    assert list(plots.length_curve.getData()[1]) == [m["completion_length"] for m in metrics]
    assert dashboard.preference_plot.isHidden()


@pytest.mark.slow
def test_a_reward_file_that_breaks_mid_run_is_a_plain_error_and_keeps_the_checkpoint(prompt_file, tmp_path):
    counter = tmp_path / "calls"
    reward = tmp_path / "reward.py"
    reward.write_text(f"""
from pathlib import Path
def reward(prompt, completion, **row):
    calls = Path({str(counter)!r})
    n = int(calls.read_text()) if calls.exists() else 0
    calls.write_text(str(n + 1))
    if n >= 7:  # 3 held-back prompts measured before training and step 1's 4 answers score; step 2 fails
        raise ValueError("no answer found")
    return 0.5
""")
    grant_code(reward)
    session = TrainingSession.create(grpo_config(prompt_file, rewards=[], reward_file=str(reward), max_steps=3))
    session.run()
    events = list(read_events(session.folder.events_file))
    errors = [e for e in events if e["type"] == "error"]
    assert errors and errors[-1]["title"] == "Your reward failed on a row"
    assert "ValueError: no answer found" in errors[-1]["what"] and "row " in errors[-1]["what"]
    assert [e for e in events if e["type"] == "checkpoint"]  # step 1 was saved before the failure


def test_the_preview_warns_when_there_is_nothing_to_learn():
    from peftstudio.engine.training.reward_preview import preview_warnings

    assert "same reward" in preview_warnings([[0.0, 0.0], [0.0, 0.0]], best=1.0)[0]
    assert "never varies among the answers to one prompt" in preview_warnings([[0.0, 0.0], [1.0, 1.0]], best=1.0)[0]
    assert any("already gets the full reward" in w for w in preview_warnings([[1.0, 1.0]], best=1.0))
    assert preview_warnings([[0.0, 1.0], [0.5, 0.0]], best=1.0) == []


@pytest.mark.slow
def test_peftstudio_rewards_previews_the_base_models_answers(prompt_file):
    import subprocess
    import sys
    from pathlib import Path

    result = subprocess.run([str(Path(sys.executable).parent / "peftstudio"), "rewards", str(prompt_file), "--reward",
                             "length:min=1,max=6", "--reward", "json*0.5", "--prompts", "2", "--generations", "2",
                             "--max-new-tokens", "12", "--json"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    preview = json.loads(result.stdout)
    assert preview["rewards"] == ["length(min=1,max=6)", "json"] and preview["weights"] == [1.0, 0.5]
    assert len(preview["prompts"]) == 2 and all(len(p["answers"]) == 2 for p in preview["prompts"])
    for answer in (a for p in preview["prompts"] for a in p["answers"]):
        assert answer["total"] == pytest.approx(answer["rewards"]["length(min=1,max=6)"] + 0.5 * answer["rewards"]["json"])
    bad = subprocess.run([str(Path(sys.executable).parent / "peftstudio"), "rewards", str(prompt_file), "--reward", "nope",
                          "--json"], capture_output=True, text=True, timeout=600)
    assert bad.returncode == 1 and json.loads(bad.stdout)["error"]["title"] == "This reward cannot be used"
    assert "Traceback" not in bad.stderr


@pytest.mark.slow
def test_eval_of_a_grpo_run_scores_held_back_rewards_base_and_tuned(grpo_run):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "peftstudio", "eval", str(grpo_run.folder.path), "--no-skills",
                           "--json"], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    card = json.loads(done.stdout)
    reward = card["reward"]
    assert set(reward["rewards"]) == LABELS and reward["prompts"] == HELD_BACK and reward["best"] == 1.5
    for side in ("base", "tuned"):
        assert set(reward[side]["by_reward"]) == LABELS and 0.0 <= reward[side]["pass_rate"] <= 1.0
        totals = reward[side]["totals"]
        assert len(totals) == HELD_BACK and reward[side]["mean_reward"] == pytest.approx(sum(totals) / HELD_BACK)
    # the base side is the same greedy measure the run took before training, on the same prompts
    assert reward["base"]["mean_reward"] == pytest.approx(grpo_run.folder.info()["summary"]["base_reward"]["mean_reward"])
    assert [s["base_reward"] for s in reward["samples"]] == reward["base"]["totals"][:5]
    stored = grpo_run.folder.info()["scorecard"]
    assert stored["reward"]["tuned"]["mean_reward"] == reward["tuned"]["mean_reward"]


@pytest.mark.slow
def test_a_grpo_run_pauses_and_resumes_to_the_end(grpo_run):
    events = list(read_events(grpo_run.folder.events_file))
    assert [e["step"] for e in events if e["type"] == "checkpoint"] == [8, 16]
    steps = [e["step"] for e in events if e["type"] == "metrics" and not e.get("heartbeat")]
    assert steps == list(range(1, 17))
    assert all("reward" in e for e in events if e["type"] == "metrics" and not e.get("heartbeat"))
    statuses = [e["status"] for e in events if e["type"] == "status"]
    assert statuses == ["created", "initializing", "running", "paused", "initializing", "running", "completed"]
