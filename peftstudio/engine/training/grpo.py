"""GRPO: learning from a checker's scores (engine/rewards) instead of written answers, with TRL's GRPOTrainer
run by our session like any other method (one row in training/methods.py).

This module reads the user's prompts (any supported dataset shape; a reference answer where the row has one),
builds the trainer with the session's shared arguments, counts tokens for our events, and measures the mean
reward and pass rate on held-back prompts before and after training. TRL implements the loss; the reference
model for the KL term is the same weights with the adapter switched off (no second copy).
"""
from __future__ import annotations

from dataclasses import dataclass

from peftstudio.engine.config import TrainingConfig
from peftstudio.engine.data.formats import read_rows
from peftstudio.engine.data.prepare import split_indices
from peftstudio.engine.data.schema import PROMPT_ALIASES, RESPONSE_ALIASES, guess_schema, normalize_row
from peftstudio.engine.errors import PlainError
from peftstudio.engine.planning.grpo_costs import HELD_BACK_PROMPTS  # the planner counts their time
from peftstudio.engine.rewards import REFERENCE, ROW, RewardSet

REFERENCE_ALIASES = ("reference", "solution", "answer", "expected", "ground_truth", "target") + RESPONSE_ALIASES
PASS_SCORE = 0.999  # a completion "passes" when every reward with weight scores (almost) fully


@dataclass
class PromptData:
    train: list[dict]  # {"prompt": [messages], "reference": str | None, "row_number": int}
    validation: list[dict]
    schema: str
    from_cache: bool = False
    loss_tokens: int = 0  # counted while training: completions are written by the model
    config: TrainingConfig | None = None  # the rewards to measure held-back answers with


def prompt_row(row: dict, number: int, config: TrainingConfig) -> dict | None:
    """One row as a GRPO prompt: the conversation up to the answer, and the answer as a reference."""
    schema = guess_schema([row], config.column_mapping or None)
    reference = next((row[k] for k in REFERENCE_ALIASES if row.get(k) not in (None, "")), None)
    messages = None
    if schema is not None and schema.name != "text":
        example = normalize_row(row, schema, config.system_prompt)
        if example is not None:
            last = max(i for i, m in enumerate(example["messages"]) if m["role"] == "assistant")
            messages, reference = example["messages"][:last], example["messages"][last]["content"]
    if messages is None:  # prompts only: the first prompt-like column
        prompt = next((str(row[k]).strip() for k in PROMPT_ALIASES if str(row.get(k) or "").strip()), "")
        if not prompt:
            return None
        messages = ([{"role": "system", "content": config.system_prompt}] if config.system_prompt else []) + \
            [{"role": "user", "content": prompt}]
    return {"prompt": messages, REFERENCE: None if reference is None else str(reference), ROW: number}


def prepare_prompts(config: TrainingConfig) -> PromptData:
    rewards = RewardSet.from_config(config)  # a bad reward fails here, before the model loads
    rows = read_rows(config.dataset_path)
    prompts = [p for p in (prompt_row(r, i + 1, config) for i, r in enumerate(rows)) if p is not None]
    if len(prompts) < 2:
        raise PlainError(
            title="Too few prompts",
            what=f"{len(prompts)} of {len(rows)} rows hold a prompt.",
            why="GRPO needs prompts for the model to answer (a column such as prompt, question or instruction, "
                "or chat messages).",
            actions=["Name the column with the prompts 'prompt'.", "Add more rows."],
            help_topic="rewards",
        )
    if rewards.needs_reference and not any(p[REFERENCE] for p in prompts):
        raise PlainError(
            title="These rewards need reference answers",
            what=f"{', '.join(s.name for s in rewards.specs)}: the dataset has no reference answer column.",
            why="exact, contains, number and math compare each answer with the row's reference answer.",
            actions=["Add a column named reference (or answer, solution).",
                     "Or use checkers that need no reference: json, regex, length, format, or your own file."],
            help_topic="rewards",
        )
    train_idx, val_idx = split_indices(len(prompts), config.validation_split, config.seed)
    return PromptData([prompts[i] for i in train_idx], [prompts[i] for i in val_idx], "prompts", config=config)


def _counting(trainer_cls):
    """GRPOTrainer counting completion tokens (what carries the loss), all tokens and completions."""

    class CountingGRPOTrainer(trainer_cls):
        loss_tokens_seen = 0
        input_tokens_seen = 0
        examples_seen = 0

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            if model.training:
                completion = inputs["completion_mask"]
                self.loss_tokens_seen += int(completion.sum())
                self.input_tokens_seen += int(completion.sum()) + int(inputs["prompt_mask"].sum())
                self.examples_seen += int(completion.shape[0])
            return super().compute_loss(model, inputs, return_outputs=return_outputs,
                                        num_items_in_batch=num_items_in_batch)

    return CountingGRPOTrainer


def grpo_arguments(config: TrainingConfig, arguments: dict, device: str, has_vllm: bool) -> dict:
    """TRL's GRPOConfig keywords: our batch size counts prompts, so each step sees whole groups of answers."""
    arguments = {k: v for k, v in arguments.items() if k not in ("train_sampling_strategy", "neftune_noise_alpha",
                                                                 "prediction_loss_only")}
    per_device = config.batch_size * config.num_generations
    arguments.update(per_device_train_batch_size=per_device, per_device_eval_batch_size=per_device,
                     num_generations=config.num_generations, max_completion_length=config.max_completion_length,
                     beta=config.kl_beta, temperature=1.0,
                     gradient_checkpointing=config.gradient_checkpointing, shuffle_dataset=True,
                     use_vllm=has_vllm and device == "cuda", log_completions=False, eval_strategy="no")
    return arguments


def vllm_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("vllm") is not None


def build_trainer(config: TrainingConfig, model, tokenizer, data: PromptData, arguments: dict, callbacks: list):
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    rewards = RewardSet.from_config(config)
    device = "cpu" if arguments.get("use_cpu") else "cuda"
    args = GRPOConfig(**grpo_arguments(config, arguments, device, vllm_installed()),
                      reward_weights=rewards.weights)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    trainer = _counting(GRPOTrainer)(model=model, reward_funcs=rewards.trl_functions(), args=args,
                                     train_dataset=Dataset.from_list(data.train), processing_class=tokenizer,
                                     callbacks=callbacks)
    trainer.add_callback(_ClosesRewards(rewards))
    return trainer


def _ClosesRewards(rewards: RewardSet):  # noqa: N802 - builds a TrainerCallback (transformers loads lazily)
    """Stops the user's reward process when the loop ends (a pause or resume starts it again on first use)."""
    from transformers import TrainerCallback

    class ClosesRewards(TrainerCallback):
        def on_train_end(self, args, state, control, **kwargs):
            rewards.close()

    return ClosesRewards()


def held_back_rewards(model, tokenizer, config: TrainingConfig, prompts: list[dict], use_adapter: bool = True) -> dict:
    """Mean reward per function, the weighted mean and the pass rate of greedy answers to held-back prompts."""
    from peftstudio.engine.evaluation.batched import generate_answers  # lazy: defers torch

    prompts = prompts[:HELD_BACK_PROMPTS]
    if not prompts:
        return {}
    answers = generate_answers(model, tokenizer, [p["prompt"] for p in prompts],
                               max_new_tokens=config.max_completion_length, use_adapter=use_adapter)
    rewards = RewardSet.from_config(config)
    try:
        return reward_summary(rewards, [p["prompt"] for p in prompts], answers, prompts)
    finally:
        rewards.close()


def reward_summary(rewards: RewardSet, prompts, answers, rows) -> dict:
    scores = rewards.score_all(prompts, answers, rows)
    totals = rewards.total(scores)
    best = sum(w for w in rewards.weights)
    passed = [t >= best * PASS_SCORE for t in totals]
    return {"mean_reward": sum(totals) / len(totals),
            "by_reward": {label: sum(v) / len(v) for label, v in scores.items()},
            "pass_rate": sum(passed) / len(passed), "prompts": len(totals)}
