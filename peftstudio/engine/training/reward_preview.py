"""The reward preview before a GRPO run: the base model answers a few prompts several times (sampled, as GRPO
will), each answer is scored by each reward, and plain warnings say when there is nothing to learn from: every
answer gets the same reward, the reward never varies within a prompt's group, or it is always already full."""
from __future__ import annotations

import random

from peftstudio.engine.config import TrainingConfig
from peftstudio.engine.consent import allowed_remote_code
from peftstudio.engine.data.formats import read_rows
from peftstudio.engine.models import load_causal_lm, load_tokenizer, resolve_model, trainable_folder
from peftstudio.engine.rewards import RewardSet
from peftstudio.engine.data.prompts import prompt_row

SAME = 1e-9


def preview_warnings(totals_by_prompt: list[list[float]], best: float) -> list[str]:
    """What the scores say about the learning signal (GRPO learns only from differences within a group)."""
    flat = [t for group in totals_by_prompt for t in group]
    warnings = []
    if flat and max(flat) - min(flat) <= SAME:
        warnings.append(f"Every answer got the same reward ({flat[0]:g}): GRPO would have nothing to learn from. "
                        "Loosen or tighten the checker so that some answers pass and some do not.")
    elif totals_by_prompt and all(max(g) - min(g) <= SAME for g in totals_by_prompt):
        warnings.append("The reward never varies among the answers to one prompt: GRPO compares answers to the "
                        "same prompt, so it would learn nothing. Use more answers per prompt, or a reward with "
                        "partial credit.")
    if flat and min(flat) >= best - SAME:
        warnings.append("Every answer already gets the full reward: the base model does this already.")
    return warnings


def preview_rewards(config: TrainingConfig, prompts: int = 8, generations: int = 4, max_new_tokens: int = 64,
                    progress=None, cancelled=lambda: False) -> dict:
    """`progress(message)` hears which prompt is being answered; `cancelled()` true stops after the current
    prompt, and what was scored so far is returned ("cancelled": True)."""
    import torch  # lazy: the preview is the only part that needs the model

    say = progress or (lambda message: None)

    rewards = RewardSet.from_config(config)
    rows = [p for p in (prompt_row(r, i + 1, config) for i, r in enumerate(read_rows(config.dataset_path)))
            if p is not None]
    chosen = random.Random(config.seed).sample(rows, min(prompts, len(rows)))
    say("Loading the model...")
    folder = trainable_folder(resolve_model(config.model_path or config.model_name))
    tokenizer = load_tokenizer(folder, allowed_remote_code(config))
    model = load_causal_lm(folder, trust_remote_code=allowed_remote_code(config)).eval()
    torch.manual_seed(config.seed)
    results, groups = [], []
    try:
        for number, row in enumerate(chosen, 1):
            if cancelled():
                break
            say(f"Answering prompt {number} of {len(chosen)} ({generations} answers each)...")
            text = tokenizer.apply_chat_template(row["prompt"], tokenize=False, add_generation_prompt=True)
            inputs = tokenizer(text, return_tensors="pt")
            with torch.no_grad():
                output = model.generate(**inputs, do_sample=True, temperature=1.0, max_new_tokens=max_new_tokens,
                                        num_return_sequences=generations, pad_token_id=tokenizer.eos_token_id)
            answers = tokenizer.batch_decode(output[:, inputs["input_ids"].shape[1]:], skip_special_tokens=True)
            scores = rewards.score_all([row["prompt"]] * len(answers), answers, [row] * len(answers))
            totals = rewards.total(scores)
            groups.append(totals)
            results.append({"row": row["row_number"], "prompt": row["prompt"][-1]["content"],
                            "answers": [{"text": a, "rewards": {k: v[i] for k, v in scores.items()},
                                         "total": totals[i]} for i, a in enumerate(answers)]})
    finally:
        rewards.close()
    best = sum(rewards.weights)
    flat = [t for g in groups for t in g]
    return {"rewards": rewards.labels, "weights": rewards.weights, "prompts": results,
            "mean_reward": sum(flat) / len(flat) if flat else 0.0,
            "warnings": preview_warnings(groups, best), "cancelled": len(groups) < len(chosen)}
