"""The scorecard of a run, top to bottom: did fine-tuning make it better at the task, and what did it forget?

    card = evaluate_run(run_dir, judge="http://localhost:11434", limit=50, progress=say)

1. Task: the run's held-back examples (never trained on), answered by the base model (adapter switched
   off) and the fine-tuned one in batches, scored with the use case's metric (`metrics.PROFILE_METRICS`).
   A GRPO run has prompts, not written answers: its held-back prompts are scored by the run's own rewards
   instead (the `reward` section: mean per reward, weighted mean and pass rate, base and tuned).
2. General skills: the bundled forgetting check, answered by both; the change against the base and the
   groups that regressed.
3. Judge (optional): pairwise base vs fine-tuned on the task prompts, both orders (`judge.judge_pairs`).
4. Suggestions from the numbers; the card is kept in run.json and with the version in the store.
"""
from __future__ import annotations

import math
import threading
import time
from pathlib import Path
from typing import Callable

from peftstudio.engine.data.prepare import normalized_examples, split_indices
from peftstudio.engine.errors import PlainError
from peftstudio.engine.evaluation import general_skills
from peftstudio.engine.evaluation.batched import generate_answers
from peftstudio.engine.evaluation.held_back_rewards import reward_card
from peftstudio.engine.evaluation.tool_accuracy import tool_cases, tools_card
from peftstudio.engine.evaluation.judge import judge_from, judge_pairs
from peftstudio.engine.evaluation.metrics import METRICS, mean_score, metrics_for, schema_valid_rate
from peftstudio.engine.history.versions import record_scorecard
from peftstudio.engine.inference import ChatModel
from peftstudio.engine.planning.estimates import format_duration
from peftstudio.engine.runs.folder import RunFolder

Progress = Callable[[float, str], None]
TASK_TOKENS = 96
SKILL_TOKENS = 40


def validation_examples(run_dir: Path, limit: int | None = None) -> list[dict]:
    """The run's held-back examples, normalized (the same split the run made)."""
    config = RunFolder(run_dir).config()
    try:
        examples, _ = normalized_examples(config)
    except PlainError:
        return []
    _, validation = split_indices(len(examples), config.validation_split, config.seed)
    return [examples[index] for index in validation[:limit]]


def held_back(run_dir: Path, limit: int | None = None) -> tuple[list[list[dict]], list[str]]:
    """(conversation up to the last reply, that reply) for the run's validation examples."""
    prompts, references = [], []
    for example in validation_examples(run_dir, limit):
        messages = example.get("messages")
        if not messages or messages[-1]["role"] != "assistant":
            continue
        prompts.append(messages[:-1])
        references.append(messages[-1]["content"])
    return prompts, references


def _perplexity(chat, prompts: list[list[dict]], references: list[str], use_adapter: bool) -> float:
    values = [math.log(chat.answer_perplexity(p, r, use_adapter)) for p, r in zip(prompts, references)]
    return math.exp(sum(values) / len(values)) if values else float("nan")


def suggestions(card: dict) -> list[str]:
    """What to do next, from the numbers."""
    tips = []
    task, skills = card.get("task") or {}, card.get("general_skills") or {}
    main = task.get("metric")
    if main and task.get("base") is not None:
        better = task["tuned"] > task["base"] if METRICS[main].higher_is_better else task["tuned"] < task["base"]
        if not better:
            tips.append("The fine-tuned model is not better than the base on your held-back examples: train longer "
                        "(more epochs), raise the learning rate a little, or add more examples.")
    if skills and skills.get("regressed"):
        tips.append(f"It got worse at {', '.join(skills['regressed'])}: lower the learning rate or the epochs, or "
                    "mix some general examples into your data.")
    reward = card.get("reward")
    if reward and reward.get("base"):
        if reward["tuned"]["mean_reward"] <= reward["base"]["mean_reward"]:
            tips.append("The mean reward did not rise on held-back prompts: train for more steps, use more answers "
                        "per prompt, or a checker with partial credit (preview the rewards first).")
        elif reward["tuned"]["pass_rate"] < 0.5:
            tips.append("Better, but fewer than half of the answers pass every checker: train for more steps.")
    elif reward is not None:
        tips.append("There were no held-back prompts to score: set a held-back share above 0 so the reward can be "
                    "measured.")
    if not task.get("examples") and reward is None:
        tips.append("There were no held-back examples to score: set a held-back share above 0 so the task can be "
                    "measured.")
    if tips:
        return tips
    if not skills:  # general skills were not checked (--no-skills): forgetting is not known either way
        return ["Better at your task: try it in the playground, then export it (general skills were not checked; "
                "run the scorecard with them to see whether anything was forgotten)."]
    return ["Better at your task and nothing forgotten: try it in the playground, then export it."]


def with_time_left(say: Progress) -> Progress:
    """The same progress, each message ending with the time left: measured from the first step of scoring on
    (loading the model says nothing about the pace), projected over the share still to do."""
    first: list[tuple[float, float]] = []

    def said(fraction: float, message: str) -> None:
        now = time.perf_counter()
        if not first and fraction > 0.05:
            first.append((fraction, now))
        if first and fraction > first[0][0] and fraction < 1.0:
            pace = (now - first[0][1]) / (fraction - first[0][0])  # seconds per unit of progress
            message = f"{message}, about {format_duration(pace * (1.0 - fraction))} left"
        say(fraction, message)

    return said


def evaluate_run(run_dir: Path, judge: str | None = None, limit: int | None = None, skills: bool = True,
                 progress: Progress | None = None, cancel: threading.Event | None = None,
                 batch_size: int = 8, skills_limit: int | None = None) -> dict:
    started = time.perf_counter()
    say = with_time_left(progress or (lambda fraction, message: None))
    run_dir = Path(run_dir)
    say(0.02, "Loading the model with its adapter")
    chat = ChatModel(run_dir)
    with chat.using():  # the shared base keeps this run's adapter until the card is done
        return _evaluate(chat, run_dir, judge, limit, skills, say, cancel, batch_size, skills_limit, started)


def _evaluate(chat, run_dir: Path, judge, limit, skills, say, cancel, batch_size, skills_limit, started) -> dict:
    model, tokenizer = chat.model, chat.tokenizer
    profile_id = chat.info.get("profile_id")
    names = metrics_for(profile_id)
    config = RunFolder(run_dir).config()
    grpo = config.training_method == "grpo"
    prompts, references = held_back(run_dir, limit) if not grpo else ([], [])
    card: dict = {"profile_id": profile_id, "run": run_dir.name}

    def stage(low: float, high: float, what: str):
        return lambda done, total: say(low + (high - low) * done / max(total, 1), f"{what} {done}/{total}")

    if grpo:
        card["reward"] = reward_card(model, tokenizer, config, stage, cancel)
    else:
        cases = tool_cases(validation_examples(run_dir, limit))
        if cases:  # an agent's run: does it call the right tool with the right arguments, and only when needed?
            card["tools"] = tools_card(model, tokenizer, cases, stage, cancel)

    task: dict = {"metric": names[0], "label": METRICS[names[0]].label, "examples": len(prompts),
                  "higher_is_better": METRICS[names[0]].higher_is_better}
    if prompts:
        if names[0] == "perplexity":
            say(0.1, "Measuring surprise at the held-back texts")
            task.update(base=_perplexity(chat, prompts, references, False),
                        tuned=_perplexity(chat, prompts, references, True))
        base = generate_answers(model, tokenizer, prompts, max_new_tokens=TASK_TOKENS, batch_size=batch_size,
                                use_adapter=False, progress=stage(0.1, 0.3, "Base model answers held-back example"),
                                cancel=cancel)
        tuned = generate_answers(model, tokenizer, prompts, max_new_tokens=TASK_TOKENS, batch_size=batch_size,
                                 use_adapter=True, progress=stage(0.3, 0.5, "Fine-tuned answers held-back example"),
                                 cancel=cancel)
        for name in names:
            if name != "perplexity":
                scores = {"base": mean_score(name, base, references), "tuned": mean_score(name, tuned, references)}
                task.setdefault("all", {})[name] = scores
                if name == names[0]:
                    task.update(scores)
        schema = config.answer_schema_dict()
        if schema is not None:  # JSON answers with a schema: does each answer follow it?
            task.setdefault("all", {})["json_schema_valid"] = {"base": schema_valid_rate(base, schema),
                                                               "tuned": schema_valid_rate(tuned, schema)}
        task["samples"] = [{"prompt": p[-1]["content"], "reference": r, "base": b, "tuned": t}
                           for p, r, b, t in list(zip(prompts, references, base, tuned))[:5]]
        card["task_answers"] = {"prompts": [p[-1]["content"] for p in prompts], "base": base, "tuned": tuned}
    card["task"] = task
    if skills and not (cancel is not None and cancel.is_set()):
        items = general_skills.load_items(skills_limit)
        conversations = [[{"role": "user", "content": item.prompt}] for item in items]
        base = generate_answers(model, tokenizer, conversations, max_new_tokens=SKILL_TOKENS, batch_size=16,
                                use_adapter=False, progress=stage(0.5, 0.7, "General skills, base model"),
                                cancel=cancel)
        tuned = generate_answers(model, tokenizer, conversations, max_new_tokens=SKILL_TOKENS, batch_size=16,
                                 use_adapter=True, progress=stage(0.7, 0.9, "General skills, fine-tuned"),
                                 cancel=cancel)
        card["general_skills"] = general_skills.compare(items, base, tuned)
    if judge and prompts and not (cancel is not None and cancel.is_set()):
        say(0.9, "Asking the judge")
        description, ask = judge_from(judge)
        answers = card["task_answers"]
        verdict = judge_pairs(ask, answers["prompts"], answers["base"], answers["tuned"], profile_id,
                              progress=stage(0.9, 0.99, "Judging pair"), cancel=cancel)
        card["judge"] = {"judge": description} | verdict.to_dict()
    card["cancelled"] = bool(cancel is not None and cancel.is_set())
    card["suggestions"] = suggestions(card)
    card["seconds"] = time.perf_counter() - started
    say(1.0, "Scorecard ready")
    return card


def headline(card: dict) -> list[str]:
    """The scorecard in a few lines a user reads (the dashboard, Versions, the model card, the CLI)."""
    lines = []
    task, reward = card.get("task") or {}, card.get("reward") or {}
    if reward.get("base"):
        base, tuned = reward["base"], reward["tuned"]
        arrow = "better" if tuned["mean_reward"] > base["mean_reward"] else "not better"
        lines.append(f"Reward ({', '.join(reward['rewards'])}, {reward['prompts']} held-back prompts): "
                     f"{tuned['mean_reward']:.3g} vs base {base['mean_reward']:.3g} of {reward['best']:g} - {arrow}; "
                     f"{tuned['pass_rate']:.0%} pass (base {base['pass_rate']:.0%})")
    tools = card.get("tools")
    if tools:
        base, tuned = tools["base"], tools["tuned"]
        lines.append(f"Tool calls ({tools['cases']} held-back conversations): {tuned['accuracy']:.0%} right vs base "
                     f"{base['accuracy']:.0%}; right function {tuned['name_accuracy']:.0%}, quiet when no call is "
                     f"needed {_percent(tuned['no_call_accuracy'])}")
    if task.get("base") is not None:
        arrow = "better" if (task["tuned"] > task["base"]) == task.get("higher_is_better", True) else "not better"
        lines.append(f"Your task ({task['label']}, {task['examples']} held-back examples): "
                     f"{task['tuned']:.3g} vs base {task['base']:.3g} - {arrow}")
    schema = (task.get("all") or {}).get("json_schema_valid")
    if schema:
        lines.append(f"Answers that follow your JSON schema: {schema['tuned']:.0%} vs base {schema['base']:.0%}")
    skills = card.get("general_skills")
    if skills:
        change = skills["change_percent"]
        lines.append(f"General skills: {change:+.0f}% vs base ({skills['tuned_accuracy']:.0%} vs "
                     f"{skills['base_accuracy']:.0%} of {skills['items']} questions)"
                     + (f"; worse at {', '.join(skills['regressed'])}" if skills["regressed"] else ""))
    judged = card.get("judge")
    if judged:
        low, high = judged["interval"]
        lines.append(f"Judge ({judged['judge']}): fine-tuned wins {judged['win_rate']:.0%} "
                     f"(95% interval {low:.0%}-{high:.0%}, {judged['judgments']} judgments, both orders)")
    return lines


def _percent(value) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def save_scorecard(run_dir: Path, card: dict) -> None:
    """In run.json and with the run's version in the store (Versions and Compare read it there)."""
    stored = {k: v for k, v in card.items() if k != "task_answers"}
    RunFolder(run_dir).update_info(scorecard=stored)
    record_scorecard(Path(run_dir), summary_metrics(stored))


def summary_metrics(card: dict) -> dict:
    """The numbers Versions and Compare show, flat."""
    task, skills, judged = card.get("task") or {}, card.get("general_skills") or {}, card.get("judge") or {}
    reward = card.get("reward") or {}
    if reward.get("base"):  # a GRPO run's task is its reward
        task = {"metric": "reward", "tuned": reward["tuned"]["mean_reward"], "base": reward["base"]["mean_reward"]}
    tools = card.get("tools") or {}
    if tools.get("base"):  # an agent's task is calling its tools right
        task = {"metric": "tool_call_accuracy", "tuned": tools["tuned"]["accuracy"],
                "base": tools["base"]["accuracy"]}
    return {"task_metric": task.get("metric"), "task_tuned": task.get("tuned"), "task_base": task.get("base"),
            "task_higher_is_better": task.get("higher_is_better", True),
            "skills_change_percent": skills.get("change_percent"), "skills_regressed": skills.get("regressed", []),
            "judge_win_rate": judged.get("win_rate")}
