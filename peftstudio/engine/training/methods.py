"""What differs between training methods, in one table. The recipe's phases (training/recipe.py) ask the run's
row and never branch on the method's name, so a new trainer (reinforcement learning, a second backend) is one
more row here, not an `if` in each phase.

Each row says how the method reads its data, what it measures on the base model and on the trained one, and
which trainer trains it with the run's shared arguments (schedule, checkpoints, logging, callbacks).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from peftstudio.engine.config import TrainingConfig
from peftstudio.engine.data.prepare import prepare
from peftstudio.engine.data.prompts import prepare_prompts
from peftstudio.engine.evaluation.held_back_rewards import held_back_rewards
from peftstudio.engine.evaluation.preference_accuracy import preference_accuracy
from peftstudio.engine.training import grpo, preference, supervised


@dataclass(frozen=True)
class Method:
    prepare_data: Callable  # (config, tokenizer) -> data with .train, .validation, .schema, .loss_tokens
    measure_base: Callable  # (model, tokenizer, data) -> facts about the base model, before the adapter exists
    measure_trained: Callable  # (model, tokenizer, data, base) -> facts for the run's summary, after training
    sample_repetition: Callable  # (model, tokenizer, data) -> share of repeated 3-grams, or None
    build_trainer: Callable  # (config, model, tokenizer, data, arguments, callbacks, segments) -> a Trainer
    packs_segments: bool  # padding-free rows with attention inside each example apply to its data


def _supervised() -> Method:
    return Method(
        prepare_data=prepare,
        measure_base=lambda model, tokenizer, data: {"base_eval_loss": supervised.validation_loss(model, tokenizer,
                                                                                                  data)},
        measure_trained=lambda model, tokenizer, data, base: {},  # its final eval loss comes from the trainer
        sample_repetition=supervised.sample_repetition,
        build_trainer=supervised.build_trainer,
        packs_segments=True,
    )


def _preference() -> Method:
    def build_trainer(config, model, tokenizer, data, arguments, callbacks, segments):
        arguments = {k: v for k, v in arguments.items() if k != "train_sampling_strategy"}  # TRL pads pairs itself
        return preference.build_trainer(config, model, tokenizer, data, arguments, callbacks)

    def accuracy(model, tokenizer, data):  # how often the model prefers the chosen answer of a held-back pair
        return preference_accuracy(model, tokenizer, data.validation_pairs)

    return Method(
        prepare_data=lambda config, tokenizer: preference.prepare_preferences(config),
        measure_base=lambda model, tokenizer, data: {"base_eval_loss": None,
                                                     "base_preference_accuracy": accuracy(model, tokenizer, data)},
        measure_trained=lambda model, tokenizer, data, base: {
            "base_preference_accuracy": base.get("base_preference_accuracy"),
            "preference_accuracy": accuracy(model, tokenizer, data)},
        sample_repetition=lambda model, tokenizer, data: None,
        build_trainer=build_trainer,
        packs_segments=False,
    )


def _reinforcement() -> Method:
    def build_trainer(config, model, tokenizer, data, arguments, callbacks, segments):
        return grpo.build_trainer(config, model, tokenizer, data, arguments, callbacks)

    def config_of(data):  # the run's config travels with its data (the phases pass data, not config)
        return data.config

    return Method(
        prepare_data=lambda config, tokenizer: prepare_prompts(config),
        measure_base=lambda model, tokenizer, data: {
            "base_eval_loss": None,
            "base_reward": held_back_rewards(model, tokenizer, config_of(data), data.validation)},
        measure_trained=lambda model, tokenizer, data, base: {
            "base_reward": base.get("base_reward"),
            "reward": held_back_rewards(model, tokenizer, config_of(data), data.validation)},
        sample_repetition=lambda model, tokenizer, data: None,
        build_trainer=build_trainer,
        packs_segments=False,
    )


# training_method -> its row (built on first use: each imports its trainer's libraries)
METHODS: dict[str, Callable[[], Method]] = {
    "sft": _supervised,
    "dpo": _preference, "orpo": _preference, "simpo": _preference, "kto": _preference,
    "grpo": _reinforcement,
}


def method_of(config: TrainingConfig) -> Method:
    return METHODS[config.training_method]()
