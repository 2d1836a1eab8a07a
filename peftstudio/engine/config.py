"""TrainingConfig: every setting of a run, as plain data (seed data model `TrainingConfig`).

A config is validated with plain-language messages (`problems()` / `check()`) and survives a
JSON round trip exactly (`to_json` / `from_json`): floats are written with `repr` precision.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from peftstudio.engine.errors import PlainError

PEFT_METHODS = ("lora", "qlora")
OPTIMIZERS = ("adamw", "sgd", "adamw_8bit")
SCHEDULERS = ("linear", "cosine", "constant")
PRECISIONS = ("auto", "fp32", "fp16", "bf16")
QUANTIZATIONS = (None, "8bit", "4bit")
EVAL_STRATEGIES = ("steps", "epoch", "no")
# how work is split over several devices (see engine/training/launcher.py): plain data parallel, or
# sharded (FSDP; DeepSpeed ZeRO-2 shards optimizer state and gradients, ZeRO-3 also the weights)
DISTRIBUTED_STRATEGIES = ("ddp", "fsdp", "zero2", "zero3")


@dataclass
class TrainingConfig:
    # Model
    model_name: str = "HuggingFaceTB/SmolLM2-135M-Instruct"
    model_path: str | None = None
    trust_remote_code: bool = False  # only ever True after the user's explicit consent
    # Dataset
    dataset_path: str = ""
    dataset_id: str | None = None
    column_mapping: dict[str, str] = field(default_factory=dict)
    system_prompt: str | None = None
    validation_split: float = 0.1
    # PEFT
    peft_method: str = "lora"
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    target_modules: list[str] = field(default_factory=lambda: ["all-linear"])
    # Training hyperparameters
    learning_rate: float = 2e-4
    batch_size: int = 4
    gradient_accumulation: int = 1
    epochs: float = 3.0
    max_steps: int | None = None  # when set, wins over epochs
    warmup_steps: int = 0
    # Optimization
    optimizer: str = "adamw"
    scheduler: str = "linear"
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    # Precision
    precision: str = "auto"
    quantization: str | None = None
    # Checkpointing
    save_steps: int = 50
    save_total: int = 3
    # Validation
    eval_steps: int = 50
    eval_strategy: str = "steps"
    # Sequences and speed
    max_seq_length: int = 1024
    packing: bool = True
    gradient_checkpointing: bool = False
    logging_steps: int = 1
    seed: int = 42
    # Devices: batch_size is per device; one process per device (accelerate launch when more than 1)
    num_processes: int = 1
    distributed_strategy: str = "ddp"

    # ---- validation -----------------------------------------------------------------
    def problems(self) -> list[tuple[str, str]]:
        """Every invalid value as (field, plain-language message saying what to do)."""
        out: list[tuple[str, str]] = []

        def need(cond: bool, name: str, message: str) -> None:
            if not cond:
                out.append((name, message))

        def finite(x: Any) -> bool:
            return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)

        need(isinstance(self.model_name, str) and self.model_name.strip() != "", "model_name",
             "Choose a model: a Hugging Face id such as HuggingFaceTB/SmolLM2-135M-Instruct, a folder or a .gguf file.")
        need(self.model_path is None or isinstance(self.model_path, str), "model_path",
             "The model path must be text: a folder or a .gguf file.")
        need(isinstance(self.trust_remote_code, bool), "trust_remote_code",
             "Running the model's own code is on or off.")
        need(isinstance(self.dataset_path, str), "dataset_path", "The dataset path must be text: a file path.")
        need(isinstance(self.column_mapping, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in self.column_mapping.items()), "column_mapping",
             'The column mapping must pair names with column names, e.g. {"prompt": "question"}.')
        need(self.system_prompt is None or isinstance(self.system_prompt, str), "system_prompt",
             "The system prompt must be text, or left empty.")
        need(self.dataset_id is None or isinstance(self.dataset_id, str), "dataset_id", "The dataset id must be text.")
        need(self.peft_method in PEFT_METHODS, "peft_method", "The method must be 'lora' or 'qlora'.")
        need(_is_int(self.lora_r) and 1 <= self.lora_r <= 1024, "lora_r",
             "LoRA rank must be a whole number from 1 to 1024 (8-64 is typical).")
        need(_is_int(self.lora_alpha) and 1 <= self.lora_alpha <= 4096, "lora_alpha",
             "LoRA alpha must be a whole number from 1 to 4096 (usually twice the rank).")
        need(finite(self.lora_dropout) and 0 <= self.lora_dropout < 1, "lora_dropout",
             "LoRA dropout must be between 0 and 1 (0.05 is typical).")
        need(isinstance(self.target_modules, list) and len(self.target_modules) > 0
             and all(isinstance(m, str) and m for m in self.target_modules), "target_modules",
             "List at least one layer to adapt, or use 'all-linear'.")
        need(finite(self.learning_rate) and 0 < self.learning_rate <= 1, "learning_rate",
             "The learning rate must be above 0 and at most 1 (1e-4 to 3e-4 is typical for LoRA).")
        need(_is_int(self.batch_size) and 1 <= self.batch_size <= 4096, "batch_size",
             "The batch size must be a whole number from 1 to 4096.")
        need(_is_int(self.gradient_accumulation) and 1 <= self.gradient_accumulation <= 4096,
             "gradient_accumulation", "Gradient accumulation must be a whole number from 1 to 4096.")
        need(finite(self.epochs) and 0 < self.epochs <= 1000, "epochs",
             "The number of epochs must be above 0 and at most 1000 (1-3 is typical).")
        need(self.max_steps is None or (_is_int(self.max_steps) and self.max_steps >= 1), "max_steps",
             "Max steps must be a whole number of at least 1, or left empty to train by epochs.")
        need(_is_int(self.warmup_steps) and self.warmup_steps >= 0, "warmup_steps",
             "Warm-up steps must be a whole number, 0 or more.")
        need(self.optimizer in OPTIMIZERS, "optimizer", f"The optimizer must be one of {', '.join(OPTIMIZERS)}.")
        need(self.scheduler in SCHEDULERS, "scheduler", f"The schedule must be one of {', '.join(SCHEDULERS)}.")
        need(finite(self.weight_decay) and 0 <= self.weight_decay <= 1, "weight_decay",
             "Weight decay must be between 0 and 1 (0 to 0.1 is typical).")
        need(finite(self.max_grad_norm) and self.max_grad_norm >= 0, "max_grad_norm",
             "Gradient clipping must be 0 (off) or a positive number (1.0 is typical).")
        need(self.precision in PRECISIONS, "precision", f"Precision must be one of {', '.join(PRECISIONS)}.")
        need(self.quantization in QUANTIZATIONS, "quantization", "Quantization must be empty, '8bit' or '4bit'.")
        need(not (self.peft_method == "qlora" and self.quantization is None), "quantization",
             "QLoRA needs 4-bit or 8-bit quantization: choose '4bit', or switch the method to 'lora'.")
        need(_is_int(self.save_steps) and self.save_steps >= 1, "save_steps",
             "Save a checkpoint every 1 or more steps.")
        need(_is_int(self.save_total) and self.save_total >= 1, "save_total", "Keep at least 1 checkpoint.")
        need(_is_int(self.eval_steps) and self.eval_steps >= 1, "eval_steps", "Evaluate every 1 or more steps.")
        need(self.eval_strategy in EVAL_STRATEGIES, "eval_strategy",
             "Evaluation must happen by 'steps', by 'epoch', or 'no'.")
        need(finite(self.validation_split) and 0 <= self.validation_split < 0.5, "validation_split",
             "The validation share must be from 0 to 0.5 (0.1 keeps 10% of examples aside).")
        need(_is_int(self.max_seq_length) and 16 <= self.max_seq_length <= 131072, "max_seq_length",
             "The maximum sequence length must be a whole number from 16 to 131072 tokens.")
        need(isinstance(self.packing, bool), "packing", "Packing is on or off.")
        need(isinstance(self.gradient_checkpointing, bool), "gradient_checkpointing",
             "Gradient checkpointing is on or off.")
        need(_is_int(self.logging_steps) and self.logging_steps >= 1, "logging_steps",
             "Log every 1 or more steps.")
        need(_is_int(self.seed) and 0 <= self.seed < 2**32, "seed", "The seed must be a whole number from 0 to 2^32-1.")
        need(_is_int(self.num_processes) and 1 <= self.num_processes <= 1024, "num_processes",
             "The number of devices must be a whole number from 1 to 1024.")
        need(self.distributed_strategy in DISTRIBUTED_STRATEGIES, "distributed_strategy",
             f"The multi-device strategy must be one of {', '.join(DISTRIBUTED_STRATEGIES)}.")
        return out

    def check(self) -> "TrainingConfig":
        problems = self.problems()
        if problems:
            listing = "; ".join(f"{name}: {message}" for name, message in problems)
            raise PlainError(
                title="Some settings are not valid",
                what=f"{len(problems)} setting(s) cannot be used: {listing}",
                why="A value is outside the range that training can work with.",
                actions=["Correct the settings listed above.",
                         "Or start again from a use-case profile's defaults."],
                help_topic="settings",
            )
        return self

    @property
    def effective_batch_size(self) -> int:
        """Examples per optimizer update, over every device."""
        return self.batch_size * self.gradient_accumulation * self.num_processes

    # ---- serialization ---------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainingConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise PlainError(
                title="The configuration has settings PEFT Studio does not know",
                what=f"Unknown setting(s): {', '.join(unknown)}.",
                why="The file was written by another tool or another version, or a name is misspelled.",
                actions=["Remove or rename the unknown settings.",
                         "Export a fresh configuration from PEFT Studio and edit that."],
                help_topic="settings",
            )
        return cls(**{k: data[k] for k in data})

    @classmethod
    def from_json(cls, text: str) -> "TrainingConfig":
        return cls.from_dict(parse_settings(text))

    def merged(self, overrides: dict[str, Any]) -> "TrainingConfig":
        data = self.to_dict()
        data.update(overrides)
        return TrainingConfig.from_dict(data)


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def parse_settings(text: str) -> dict[str, Any]:
    """Settings from JSON text (a config file or inline overrides): a dict of known names, or a PlainError."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise PlainError(
            title="The configuration is not valid JSON",
            what=f"It could not be read (line {exc.lineno}, column {exc.colno})." if hasattr(exc, "lineno")
            else "It nests lists or objects too deeply to be read.",
            why="The file is damaged or was edited by hand with a typo.",
            actions=["Fix the text at the position given above.", "Export a fresh configuration from PEFT Studio."],
            help_topic="settings",
        ) from None
    if not isinstance(data, dict):
        raise PlainError(
            title="The configuration has the wrong shape",
            what="It holds a list or a single value instead of named settings.",
            why="A configuration is a JSON object such as {\"learning_rate\": 0.0002}.",
            actions=["Wrap the settings in { }.", "Export a fresh configuration from PEFT Studio."],
            help_topic="settings",
        )
    unknown = sorted(set(data) - {f.name for f in fields(TrainingConfig)})
    if unknown:
        TrainingConfig.from_dict(data)  # raises the plain error naming them
    return data
