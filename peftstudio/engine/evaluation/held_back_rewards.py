"""Mean reward per function, the weighted mean and the pass rate of greedy answers to held-back prompts: what
a GRPO run measures before and after training, and the scorecard's reward section."""
from __future__ import annotations

from peftstudio.engine.config import TrainingConfig
from peftstudio.engine.evaluation.batched import generate_answers
from peftstudio.engine.planning.grpo_costs import HELD_BACK_PROMPTS  # the planner counts their time
from peftstudio.engine.rewards import RewardSet

PASS_SCORE = 0.999  # a completion "passes" when every reward with weight scores (almost) fully


def held_back_rewards(model, tokenizer, config: TrainingConfig, prompts: list[dict], use_adapter: bool = True,
                      progress=None, cancel=None, with_answers: bool = False) -> dict:
    """Mean reward per function, the weighted mean and the pass rate of greedy answers to held-back prompts
    (with_answers: each answer and its total too, for the scorecard's samples)."""
    prompts = prompts[:HELD_BACK_PROMPTS]
    if not prompts:
        return {}
    answers = generate_answers(model, tokenizer, [p["prompt"] for p in prompts],
                               max_new_tokens=config.max_completion_length, use_adapter=use_adapter,
                               progress=progress, cancel=cancel)
    rewards = RewardSet.from_config(config)
    try:
        summary = reward_summary(rewards, [p["prompt"] for p in prompts], answers, prompts)
    finally:
        rewards.close()
    if with_answers:
        summary["answers"] = answers
    return summary


def reward_summary(rewards: RewardSet, prompts, answers, rows) -> dict:
    scores = rewards.score_all(prompts, answers, rows)
    totals = rewards.total(scores)
    best = sum(w for w in rewards.weights)
    passed = [t >= best * PASS_SCORE for t in totals]
    return {"mean_reward": sum(totals) / len(totals), "totals": totals,
            "by_reward": {label: sum(v) / len(v) for label, v in scores.items()},
            "pass_rate": sum(passed) / len(passed), "prompts": len(totals)}


def reward_card(model, tokenizer, config: TrainingConfig, stage, cancel=None) -> dict:
    """The scorecard's reward section: base (adapter off) and tuned on the run's held-back prompts, the same
    split the run measured; `stage(low, high, what)` makes a progress callback for each side."""
    from peftstudio.engine.data.prompts import prepare_prompts  # lazy: data reads the file only when asked

    prompts = prepare_prompts(config).validation[:HELD_BACK_PROMPTS]
    rewards = RewardSet.from_config(config)  # its labels and weights only: the scoring sets start their own
    section = {"rewards": rewards.labels, "prompts": len(prompts)}
    if not prompts:
        return section
    base = held_back_rewards(model, tokenizer, config, prompts, use_adapter=False, with_answers=True,
                             progress=stage(0.1, 0.3, "Base model answers held-back prompt"), cancel=cancel)
    tuned = held_back_rewards(model, tokenizer, config, prompts, use_adapter=True, with_answers=True,
                              progress=stage(0.3, 0.5, "Fine-tuned answers held-back prompt"), cancel=cancel)
    section["samples"] = [{"prompt": p["prompt"][-1]["content"], "base": b, "tuned": t, "base_reward": bt,
                           "tuned_reward": tt}
                          for p, b, t, bt, tt in list(zip(prompts, base.pop("answers"), tuned.pop("answers"),
                                                          base["totals"], tuned["totals"]))[:5]]
    section["base"], section["tuned"] = base, tuned
    section["best"] = sum(rewards.weights)
    return section
