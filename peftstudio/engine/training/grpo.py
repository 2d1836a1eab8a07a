"""GRPO: learning from a checker's scores (engine/rewards) instead of written answers, with TRL's GRPOTrainer
run by our session like any other method (one row in training/methods.py).

The prompts are read by data/prompts.py (any supported dataset shape; a reference answer where the row has one)
and the held-back reward is measured by evaluation/held_back_rewards.py; this module builds the trainer with
the session's shared arguments and counts tokens for our events. TRL implements the loss; the reference model
for the KL term is the same weights with the adapter switched off (no second copy).
"""
from __future__ import annotations

from peftstudio.engine.config import TrainingConfig
from peftstudio.engine.data.prompts import PromptData
from peftstudio.engine.rewards import RewardSet


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
