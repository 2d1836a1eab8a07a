"""Quality analysis at the end of a run (Property 13): a score out of 100, its parts, and what to do next.

Parts (they add up to 100):
    improvement   40  validation loss of the fine-tuned model vs the base model on the same examples;
                      full marks for a 30% lower loss
    perplexity    20  full marks under 10, none above 100 (exp of the validation loss)
    overfitting   20  full marks when the last validation loss is within 5% of the best one
    generation    20  a greedy answer to a validation prompt: 20 x (1 - share of repeated 3-grams)

A GRPO run has no held-back loss: its score comes from the reward on held-back prompts instead (see
reward_quality_report): improvement 50 (share of the headroom above the base model's reward closed, full marks
at 30%), level 30 (tuned reward of the best possible), pass rate 20.

Too little data caps it: with fewer training examples than half of what the use case recommends, the
score is at most 60 and the first suggestion says so (a small set teaches the format quickly, so the
losses look good while the assistant still invents facts).
"""
from __future__ import annotations

import math


def repetition_rate(tokens: list) -> float:
    grams = [tuple(tokens[i:i + 3]) for i in range(max(0, len(tokens) - 2))]
    return 1 - len(set(grams)) / len(grams) if grams else 0.0


SMALL_DATA_CAP = 60.0


def quality_report(base_eval_loss: float | None, eval_losses: list[float], repetition: float | None,
                   train_examples: int | None = None, recommended_examples: int | None = None) -> dict:
    parts, suggestions = {}, []
    too_few = _too_few(train_examples, recommended_examples)
    if too_few:
        suggestions.append(f"Only {train_examples} training examples, and this use case works best with "
                           f"{recommended_examples} or more: the model learned the format but may invent facts. "
                           "Add more examples, or create more from your documents.")
    final = eval_losses[-1] if eval_losses else None
    if base_eval_loss and final is not None and math.isfinite(final):
        gain = (base_eval_loss - final) / base_eval_loss
        parts["improvement"] = 40 * min(1.0, max(0.0, gain / 0.3))
        if gain < 0.05:
            suggestions.append("The model barely improved on unseen examples: train longer (more epochs) or raise "
                               "the learning rate a little.")
    else:
        parts["improvement"] = 0.0
        suggestions.append("Keep some examples for validation (held-back share above 0) so progress can be measured.")
    if final is not None and math.isfinite(final):
        perplexity = math.exp(min(final, 50))
        parts["perplexity"] = 20 * min(1.0, max(0.0, (100 - perplexity) / 90))
        if perplexity > 30:
            suggestions.append("Answers are still uncertain (high perplexity): add more examples of the same style, "
                               "or pick a larger model.")
    else:
        parts["perplexity"] = 0.0
    if len(eval_losses) >= 2:
        best = min(eval_losses)
        ratio = eval_losses[-1] / best if best > 0 else 1.0
        parts["overfitting"] = 20.0 if ratio <= 1.05 else 10.0 if ratio <= 1.2 else 0.0
        if ratio > 1.05:
            suggestions.append("Validation loss rose at the end (the model started memorising): use the best "
                               "checkpoint, fewer epochs, or more dropout.")
    else:
        parts["overfitting"] = 20.0 if eval_losses else 10.0
    if repetition is not None:
        parts["generation"] = 20 * (1 - repetition)
        if repetition > 0.2:
            suggestions.append("The sample answer repeats itself: add a repetition penalty in the playground, or "
                               "add examples with varied, complete answers.")
    else:
        parts["generation"] = 10.0
    return _report(parts, suggestions, too_few, "Looks healthy. Try it in the playground with your own prompts; if "
                   "answers are too generic, add more varied examples.",
                   base_eval_loss=base_eval_loss, final_eval_loss=final, repetition_rate=repetition,
                   train_examples=train_examples, recommended_examples=recommended_examples)


def _too_few(examples: int | None, recommended: int | None) -> bool:
    return bool(examples is not None and recommended and examples < recommended / 2)


def _report(parts: dict, suggestions: list[str], too_few: bool, healthy: str, **facts) -> dict:
    """The score (capped with too little data), its parts, the suggestions (`healthy` when there are none) and
    the facts it was made from."""
    if not suggestions:
        suggestions.append(healthy)
    score = round(sum(parts.values()), 1)
    if too_few:
        score = min(score, SMALL_DATA_CAP)
    return {"score": score, "parts": {k: round(v, 1) for k, v in parts.items()}, "suggestions": suggestions,
            **facts, "verdict": verdict(score, too_few)}


def reward_quality_report(base: dict | None, tuned: dict | None, best: float, train_prompts: int | None = None,
                          recommended_examples: int | None = None) -> dict:
    """The score of a run taught by a checker: how far its held-back reward rose, how high it is, how often all
    rewards are met (`base`/`tuned` are held_back_rewards summaries; `best` the sum of the reward weights)."""
    parts, suggestions = {}, []
    too_few = _too_few(train_prompts, recommended_examples)
    if too_few:
        suggestions.append(f"Only {train_prompts} training prompts, and this use case works best with "
                           f"{recommended_examples} or more: the skill may not carry over to new prompts.")
    if not base or not tuned or best <= 0:
        suggestions.append("Keep some prompts back (held-back share above 0) so the reward can be measured on "
                           "prompts the model never trained on.")
        return _report({}, suggestions, too_few, "", base_reward=None, reward=None, train_examples=train_prompts,
                       recommended_examples=recommended_examples)
    headroom = max(best - base["mean_reward"], 1e-9)
    closed = (tuned["mean_reward"] - base["mean_reward"]) / headroom
    parts["improvement"] = 50 * min(1.0, max(0.0, closed / 0.3))
    parts["level"] = 30 * min(1.0, max(0.0, tuned["mean_reward"] / best))
    parts["pass_rate"] = 20 * tuned["pass_rate"]
    if closed <= 0:
        suggestions.append("The reward did not rise on held-back prompts: train for more steps, give each prompt "
                           "more answers, or use a checker with partial credit (preview the rewards first).")
    elif tuned["pass_rate"] < 0.5:
        suggestions.append("The reward rose, but most held-back answers still miss a checker: train longer or "
                           "lower the bar with partial credit, then raise it in a second run.")
    return _report(parts, suggestions, too_few, "Looks healthy. Try it in the playground with prompts of your own, "
                   "and check that the answers are still good in ways the checker does not measure.",
                   base_reward=base["mean_reward"], reward=tuned["mean_reward"], best_reward=best,
                   train_examples=train_prompts, recommended_examples=recommended_examples)


def verdict(score: float, too_few: bool = False) -> str:
    """The score in words, for the dashboard and history."""
    if too_few:
        return "Too little data to trust"
    return "Good" if score >= 75 else "Fair" if score >= 50 else "Weak"
