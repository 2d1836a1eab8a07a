"""Preference training (DPO, ORPO, SimPO, KTO): TRL's trainers, run by our session like any supervised run.

TRL implements the losses; this module reads the user's preference file into TRL's conversational form, splits
off held-back pairs, builds the method's trainer with the session's settings, and counts tokens for our events.
The reference model is never a second copy: for DPO and KTO on a LoRA model TRL keeps a frozen "ref" copy of the
adapter (the starting adapter: zero for a new one, the parent's for a version being improved) next to the
trained one; ORPO and SimPO need no reference at all.
"""
from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module

from peftstudio.engine.config import TrainingConfig
from peftstudio.engine.data.formats import read_rows
from peftstudio.engine.data.preference import preference_example, preference_problems
from peftstudio.engine.data.prepare import split_indices
from peftstudio.engine.data.schema import detect_schema
from peftstudio.engine.errors import PlainError

# method -> (module, config class, trainer class, settings of that config)
TRAINERS = {
    "dpo": ("trl", "DPOConfig", "DPOTrainer", {}),
    "orpo": ("trl.experimental.orpo", "ORPOConfig", "ORPOTrainer", {}),
    "simpo": ("trl.experimental.cpo", "CPOConfig", "CPOTrainer", {"loss_type": "simpo", "cpo_alpha": 0.0}),
    "kto": ("trl", "KTOConfig", "KTOTrainer", {}),
}
PAIRED = ("dpo", "orpo", "simpo")
REFERENCE_ADAPTER = "ref"  # the frozen copy TRL adds beside "default" for DPO and KTO


@dataclass
class PreferenceData:
    train: list[dict]
    validation: list[dict]
    schema: str
    from_cache: bool = False
    loss_tokens: int = 0  # TRL tokenizes the pairs itself; counted while training

    @property
    def validation_pairs(self) -> list[dict]:
        return [e for e in self.validation if "chosen" in e]


def unpaired(examples: list[dict]) -> list[dict]:
    """Pairs -> KTO's rows: the chosen answer marked good, the rejected one bad."""
    return [row for e in examples for row in (
        {"prompt": e["prompt"], "completion": e["chosen"], "label": True},
        {"prompt": e["prompt"], "completion": e["rejected"], "label": False})]


def prepare_preferences(config: TrainingConfig) -> PreferenceData:
    """The file's usable rows in TRL's form for the run's method, split with the run's seed."""
    rows = read_rows(config.dataset_path)
    schema = detect_schema(rows, config.column_mapping or None)
    if not schema.is_preference:
        raise PlainError(
            title=f"{config.training_method.upper()} needs preference data",
            what="The dataset holds examples to imitate, not preferences between answers.",
            why="Preference methods learn from a better and a worse answer to the same prompt (or from answers "
                "marked good or bad, for KTO).",
            actions=["Use columns prompt, chosen and rejected (or prompt, completion and label for KTO).",
                     "Collect preferences with thumbs up/down in the playground, then export them.",
                     "Or train this file with the 'sft' method."],
            help_topic="datasets",
        )
    if schema.name == "kto" and config.training_method in PAIRED:
        raise PlainError(
            title=f"{config.training_method.upper()} needs pairs of answers",
            what="This file marks single answers as good or bad; it has no pairs to compare.",
            why=f"{config.training_method.upper()} learns from a better and a worse answer to the same prompt.",
            actions=["Train it with KTO, which learns from answers marked good or bad.",
                     "Or add a rejected answer to each prompt."],
            help_topic="datasets",
        )
    examples = [e for e in (preference_example(r, schema.name, config.system_prompt) for r in rows)
                if e is not None and _usable(e)]
    if len(examples) < 2:
        raise PlainError(
            title="Too few usable preferences",
            what=f"{len(examples)} of {len(rows)} rows can be used.",
            why="Rows with an empty side, identical answers or a missing label cannot teach a preference.",
            actions=["Run 'peftstudio validate FILE' to see what is wrong with the rows.", "Add more rows."],
            help_topic="datasets",
        )
    train_idx, val_idx = split_indices(len(examples), config.validation_split, config.seed)
    train, validation = [examples[i] for i in train_idx], [examples[i] for i in val_idx]
    if config.training_method == "kto" and schema.name == "preference":
        train = unpaired(train)  # held-back pairs stay pairs: they measure the preference accuracy
    return PreferenceData(train, validation, schema.name)


def _usable(example: dict) -> bool:
    return not any(level == "error" for _, level, _, _ in preference_problems(example))


def _count_batch(inputs: dict) -> tuple[int, int, int]:
    """(loss tokens, real tokens, examples) of one preference batch, whatever the trainer named its tensors."""
    import torch

    loss, real, examples = 0, 0, 0
    for name, value in inputs.items():
        if not isinstance(value, torch.Tensor):
            continue
        if name.endswith("attention_mask"):
            real += int(value.sum())
            examples = max(examples, int(value.shape[0]))
        elif name.endswith("completion_mask"):
            loss += int(value.sum())
        elif name.endswith("labels") and value.dtype != torch.bool and value.dim() > 1:
            loss += int((value != -100).sum())
    if "completion_mask" in inputs and "input_ids" in inputs:  # DPO stacks chosen and rejected: count pairs
        examples //= 2
    return loss, real, examples


def _counting(trainer_cls):
    """The TRL trainer, counting tokens and examples as our LossTokenTrainer does (the events read these)."""

    class Counting(trainer_cls):
        loss_tokens_seen = 0
        input_tokens_seen = 0
        examples_seen = 0

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            if model.training:
                loss, real, examples = _count_batch(inputs)
                self.loss_tokens_seen += loss
                self.input_tokens_seen += real
                self.examples_seen += examples
            return super().compute_loss(model, inputs, return_outputs=return_outputs,
                                        num_items_in_batch=num_items_in_batch)

    Counting.__name__ = f"Counting{trainer_cls.__name__}"
    return Counting


def build_trainer(config: TrainingConfig, model, tokenizer, data: PreferenceData, arguments: dict, callbacks: list):
    """The method's TRL trainer with the session's arguments (the same schedule, checkpoints and logging)."""
    from datasets import Dataset

    module, config_name, trainer_name, extra = TRAINERS[config.training_method]
    library = import_module(module)
    # TRL turns gradient checkpointing on by default (2-3x slower steps on a CPU); the run's setting decides, as
    # the planner assumed it would
    args = getattr(library, config_name)(**arguments, beta=config.preference_beta,
                                         max_length=config.max_seq_length,
                                         gradient_checkpointing=config.gradient_checkpointing, **extra)
    evaluation = data.validation if config.training_method != "kto" else unpaired(data.validation_pairs) or \
        data.validation
    kwargs = {"eval_dataset": Dataset.from_list(evaluation)} if arguments.get("eval_strategy") != "no" else {}
    trainer_cls = _counting(getattr(library, trainer_name))
    return trainer_cls(model=model, args=args, train_dataset=Dataset.from_list(data.train),
                       processing_class=tokenizer, callbacks=callbacks, **kwargs)
