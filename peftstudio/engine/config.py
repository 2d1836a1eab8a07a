"""TrainingConfig: every setting of a run, as plain data (seed data model `TrainingConfig`).

Each field is a setting declared once, here: its default, label, kind, range or choices, unit, help and who
may change it (`declare`, see engine/settings.py). Validation (`problems()` / `check()`), the wizard's form,
the tooltips, the command line's choices and `--help`, and the planner's clamps are all derived from these
declarations; adding a setting is adding a field. A config survives a JSON round trip exactly (`to_json` /
`from_json`): floats are written with `repr` precision.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from typing import Any

from peftstudio.engine.errors import PlainError
from peftstudio.engine.settings import Setting, declare, describe, settings_of


@dataclass
class TrainingConfig:
    # Model
    model_name: str = declare("HuggingFaceTB/SmolLM2-135M-Instruct", "Model", "text",
        help="The model to fine-tune: a Hugging Face id, a folder or a .gguf file.",
        rule="Choose a model: a Hugging Face id such as HuggingFaceTB/SmolLM2-135M-Instruct, a folder or a .gguf "
             "file.",
        editable_by="app")
    model_path: str | None = declare(None, "Model folder", "text",
        help="A local folder or .gguf file that holds the model.",
        rule="The model path must be text: a folder or a .gguf file.",
        optional=True, allow_empty=True, editable_by="app")
    # True only with the user's consent for this model (engine/consent.py), never from a run folder alone
    trust_remote_code: bool = declare(False, "Run the model's own code", "bool",
        help="Some models ship their own Python code. It only runs after you allowed it for that model.",
        rule="Running the model's own code is on or off.",
        editable_by="app")
    # Dataset
    dataset_path: str = declare("", "Dataset", "text",
        help="The file with your examples.",
        rule="The dataset path must be text: a file path.",
        allow_empty=True, editable_by="app")
    dataset_id: str | None = declare(None, "Dataset id", "text",
        help="A name for the dataset on the Hugging Face hub.",
        rule="The dataset id must be text.",
        optional=True, allow_empty=True, editable_by="app")
    column_mapping: dict[str, str] = declare(dict, "Column mapping", "mapping",
        help="Which columns hold the prompt and the response.",
        rule="The column mapping must pair names with column names, e.g. {\"prompt\": \"question\"}.",
        editable_by="app")
    system_prompt: str | None = declare(None, "System prompt", "text",
        help="Standing instructions given to the model before every conversation.",
        rule="The system prompt must be text, or left empty.",
        optional=True, allow_empty=True)
    answer_schema: str | None = declare(None, "Answer schema (JSON)", "text",
        help="For JSON answers: a JSON schema every answer should follow, e.g. {\"type\": \"object\", "
             "\"required\": [\"name\"]}. The scorecard and the playground check answers against it, and a GGUF "
             "export carries it as a llama.cpp grammar that makes every answer follow it.",
        rule="The answer schema must be a JSON schema written as JSON text (an object), or left empty.",
        optional=True, allow_empty=True)
    validation_split: float = declare(0.1, "Held-back share", "float",
        help="The share of your examples held back to test the model honestly.",
        rule="The validation share must be from 0 to 0.5 (0.1 keeps 10% of examples aside).",
        minimum=0.0, maximum=0.5, max_exclusive=True, decimals=2, step=0.05)
    # PEFT
    peft_method: str = declare("lora", "Method", "choice",
        help="LoRA trains a small adapter; QLoRA does the same on a model stored in 4 bits, to fit larger models "
             "on a GPU.",
        rule="The method must be 'lora' or 'qlora'.",
        choices=("lora", "qlora"), editable_by="app", roles=("model-card",))
    lora_r: int = declare(16, "LoRA rank", "int",
        help="How big the adapter is. Higher learns more detail but uses more memory. 8-64 is typical.",
        rule="LoRA rank must be a whole number from 1 to 1024 (8-64 is typical).",
        minimum=1, maximum=1024, advanced=False, roles=("sweep", "model-card", "continued"), aliases=("r", "rank"))
    lora_alpha: int = declare(32, "LoRA alpha", "int",
        help="How strongly the adapter changes the model. Usually twice the rank.",
        rule="LoRA alpha must be a whole number from 1 to 4096 (usually twice the rank).",
        minimum=1, maximum=4096, roles=("sweep", "model-card", "continued"), aliases=("alpha",))
    lora_dropout: float = declare(0.05, "LoRA dropout", "float",
        help="Randomly ignores a small part of the adapter while training so it does not memorise. 0.05 is "
             "typical; raise it if the model repeats your examples word for word.",
        rule="LoRA dropout must be between 0 and 1 (0.05 is typical).",
        minimum=0.0, maximum=1.0, max_exclusive=True, decimals=3, step=0.01,
        roles=("sweep", "model-card"), aliases=("dropout",))
    target_modules: list[str] = declare(lambda: ["all-linear"], "Adapted layers", "layers",
        help="Which parts of the model get an adapter. 'All linear layers' learns the most.",
        rule="List at least one layer to adapt, or use 'all-linear'.",
        choices=("All linear layers", "Attention only"), roles=("model-card", "continued"))
    # What the run learns from: examples to imitate, or preferences (TRL's trainers; engine/training/preference.py)
    training_method: str = declare("sft", "Training method", "choice",
        help="sft: learn to write answers like your examples. dpo: learn from pairs of a better and a worse answer "
             "(the usual choice for preferences). orpo: pairs too, without a reference model (one step less per "
             "example). simpo: pairs, less sensitive to answer length. kto: answers marked good or bad, no pairs "
             "needed. grpo: no answers at all: prompts and a checker that scores what the model writes.",
        rule="The training method must be one of sft, dpo, orpo, simpo, kto, grpo.",
        choices=("sft", "dpo", "orpo", "simpo", "kto", "grpo"), roles=("continued",))
    preference_beta: float = declare(0.1, "Preference strength (beta)", "float",
        help="For preference methods: how far the model may move from where it started to follow your "
             "preferences. Lower moves further (0.1 is usual for DPO and KTO, 2 for SimPO).",
        rule="The preference strength must be above 0 and at most 20 (0.1 is usual).",
        minimum=0.0, maximum=20.0, min_exclusive=True, decimals=3, step=0.05, roles=("sweep", "continued"))
    # GRPO: learning from a checker's scores (engine/rewards, engine/training/grpo.py)
    rewards: list[str] = declare(list, "Rewards", "list",
        help="For GRPO: the checkers that score each answer, NAME[:ARG=VALUE,...][*WEIGHT], e.g. "
             "length:min=10,max=30 or json*0.5 (exact, contains, number, math, json, regex, length, format, file).",
        rule="The rewards must be a list of checkers, e.g. [\"length:min=10,max=30\"].",
        editable_by="app")
    reward_file: str | None = declare(None, "Reward file", "text",
        help="For GRPO: your own Python file defining reward(prompt, completion, **row) -> float. It runs only "
             "after you allow that file.",
        rule="The reward file must be a path.", optional=True, editable_by="app")
    num_generations: int = declare(4, "Answers per prompt", "int",
        help="For GRPO: how many answers the model writes to each prompt; each is scored against the others. "
             "More gives a clearer signal and costs proportionally more time and memory.",
        rule="The answers per prompt must be between 2 and 64.", minimum=2, maximum=64, roles=("continued",),
        editable_by="app")  # the wizard's GRPO page will show it (issue 35); the SFT form does not
    max_completion_length: int = declare(64, "Longest answer", "int",
        help="For GRPO: the most tokens an answer may have while training. Time and memory grow with it.",
        rule="The longest answer must be between 8 and 8192 tokens.", minimum=8, maximum=8192, unit="tokens",
        roles=("continued",), editable_by="app")
    kl_beta: float = declare(0.04, "Stay close to the base (KL beta)", "float",
        help="For GRPO: how strongly the model is held near where it started (0 lets it move freely; 0.04 is "
             "the original GRPO's value and keeps it from forgetting).",
        rule="The KL beta must be between 0 and 1.", minimum=0.0, maximum=1.0, decimals=3, step=0.01,
        roles=("sweep", "continued"), editable_by="app")
    # Adapter methods (peft and transformers implement them; engine/training/adapter_setup.py wires them in)
    use_dora: bool = declare(False, "DoRA", "bool",
        help="Weight-decomposed LoRA: learns the size and the direction of each change separately. Often closer "
             "to full fine-tuning at small ranks. Costs time (each step about 1.6x as long, measured on a CPU) and "
             "some memory.",
        rule="DoRA is on or off.", roles=("sweep", "continued"), aliases=("dora",))
    use_rslora: bool = declare(False, "Rank-stabilized scaling (rsLoRA)", "bool",
        help="Scales the adapter by alpha / sqrt(rank) instead of alpha / rank, so large ranks (64 and up) keep "
             "learning. Free: no extra time or memory.",
        rule="rsLoRA is on or off.", roles=("sweep", "continued"), aliases=("rslora",))
    lora_init: str = declare("default", "Adapter start", "choice",
        help="How the adapter starts. default: changes nothing at first (standard LoRA). pissa: starts from the "
             "model's main directions (an SVD of each layer), often learns faster; the SVD takes seconds to "
             "minutes at the start (pissa-fast: an approximation in seconds). olora: an orthonormal start. PiSSA "
             "and OLoRA move part of the frozen weights into the adapter, so they need full precision (not "
             "QLoRA); the saved adapter is converted back to a standard one that works on the original model.",
        rule="The adapter start must be one of default, gaussian, pissa, pissa-fast, olora.",
        choices=("default", "gaussian", "pissa", "pissa-fast", "olora"),
        roles=("sweep", "continued"), aliases=("init",))
    loraplus_lr_ratio: float = declare(1.0, "LoRA+ ratio (1 = off)", "float",
        help="LoRA+: the adapter's B half learns this many times faster than its A half, which often learns "
             "faster at the same cost. 16 is the paper's choice; 1 turns it off. Lower the learning rate a little "
             "when you use it.",
        rule="The LoRA+ ratio must be from 1 (off) to 1000 (16 is typical).",
        minimum=1.0, maximum=1000.0, decimals=1, step=1.0, roles=("sweep",), aliases=("loraplus",))
    neftune_noise_alpha: float = declare(0.0, "NEFTune noise (0 = off)", "float",
        help="Adds a little random noise to the word embeddings while training (never when answering), which "
             "often makes chat answers better. 5 is typical; 0 turns it off. Free.",
        rule="The NEFTune noise must be from 0 (off) to 100 (5 is typical).",
        minimum=0.0, maximum=100.0, decimals=1, step=1.0, roles=("sweep",), aliases=("neftune",))
    train_embeddings: str = declare("no", "Train token embeddings", "choice",
        help="no: only the adapter learns. new-tokens: also the embedding rows of the special tokens your data "
             "uses that the model added to its vocabulary (such as <think>), cheap. all: the whole embedding and "
             "output layers learn too, for a new language or many new tokens; costs much memory and disk (a full "
             "copy of both layers and their optimizer state).",
        rule="Training token embeddings must be one of no, new-tokens, all.",
        choices=("no", "new-tokens", "all"))
    thinking: str = declare("target", "Thinking blocks", "choice",
        help="For reasoning data (<think>...</think> before the answer). target: the model learns to write the "
             "thinking. context: the thinking is shown to the model but not learned. remove: the thinking is "
             "taken out, the model learns to answer directly.",
        rule="Thinking blocks must be one of target, context, remove.",
        choices=("target", "context", "remove"))
    rope_scaling: str | None = declare(None, "Longer texts (RoPE scaling)", "choice",
        help="Stretches the model's position encoding when your examples are longer than the model was built "
             "for (linear or YaRN; the factor follows the maximum sequence length). The model may answer short "
             "texts a little worse, and longer texts need more memory.",
        rule="RoPE scaling must be empty, 'linear' or 'yarn'.",
        choices=("linear", "yarn"), optional=True, none_label="off")
    # Continuing a finished version (engine/training/continuation.py fills these)
    parent_adapter: str | None = declare(None, "Continue from", "text",
        help="The adapter folder of the version this run continues; training starts from it instead of a new "
             "adapter.",
        rule="The adapter to continue from must be a folder path, or left empty.",
        optional=True, allow_empty=True, editable_by="app", roles=("continued",))
    carry_optimizer: bool = declare(False, "Keep the optimizer's state", "bool",
        help="Continue with the optimizer's memory of the earlier run (smoother when the data stays the same) "
             "instead of a fresh one (better when the data changed).",
        rule="Keeping the optimizer's state is on or off.",
        editable_by="app", roles=("continued",))
    # Training hyperparameters
    learning_rate: float = declare(0.0002, "Learning rate", "float",
        help="How big each learning step is. Too high and training becomes unstable; too low and it learns slowly. "
             "1e-4 to 3e-4 is typical for LoRA.",
        rule="The learning rate must be above 0 and at most 1 (1e-4 to 3e-4 is typical for LoRA).",
        minimum=0.0, maximum=1.0, min_exclusive=True, decimals=6, step=1e-05, advanced=False,
        roles=("sweep", "model-card", "continued"), aliases=("lr",))
    batch_size: int = declare(4, "Batch size", "int",
        help="How many examples the computer processes at once. Limited by memory.",
        rule="The batch size must be a whole number from 1 to 4096.",
        minimum=1, maximum=4096, unit="examples", advanced=False, roles=("sweep", "model-card"), aliases=("batch",))
    gradient_accumulation: int = declare(1, "Gradient accumulation", "int",
        help="How many batches are added up before the model is updated. Lets a small machine learn as if it used "
             "bigger batches.",
        rule="Gradient accumulation must be a whole number from 1 to 4096.",
        minimum=1, maximum=4096, advanced=False, roles=("sweep", "model-card"))
    epochs: float = declare(3.0, "Epochs", "float",
        help="How many times the model reads your whole dataset. More passes learn more but can memorise.",
        rule="The number of epochs must be above 0 and at most 1000 (1-3 is typical).",
        minimum=0.0, maximum=1000.0, min_exclusive=True, decimals=2, step=0.5, advanced=False,
        roles=("sweep", "model-card"), aliases=("epoch",))
    max_steps: int | None = declare(None, "Max steps (0 = by epochs)", "int",  # when set, wins over epochs
        help="Stop after this many updates, whatever the epochs say. Leave at 0 to train by epochs.",
        rule="Max steps must be a whole number from 1 to 10,000,000, or left empty to train by epochs.",
        minimum=1, maximum=10_000_000, optional=True, unit="steps", none_label="0", roles=("model-card",))
    warmup_steps: int = declare(0, "Warm-up steps", "int",
        help="The first updates use a smaller learning rate, so training starts gently.",
        rule="Warm-up steps must be a whole number, 0 or more.",
        minimum=0, maximum=10**6, unit="steps", roles=("sweep",))
    # Optimization
    optimizer: str = declare("adamw", "Optimizer", "choice",
        help="The method that turns errors into weight changes. AdamW is the safe default.",
        rule="The optimizer must be one of adamw, sgd, adamw_8bit.",
        choices=("adamw", "sgd", "adamw_8bit"), roles=("model-card",))
    scheduler: str = declare("linear", "Learning-rate schedule", "choice",
        help="How the learning rate changes over the run: falling in a straight line, along a curve, or staying "
             "constant.",
        rule="The schedule must be one of linear, cosine, constant.",
        choices=("linear", "cosine", "constant"), roles=("sweep", "model-card"))
    weight_decay: float = declare(0.0, "Weight decay", "float",
        help="A gentle pull that keeps the adapter's weights small, to avoid memorising.",
        rule="Weight decay must be between 0 and 1 (0 to 0.1 is typical).",
        minimum=0.0, maximum=1.0, decimals=3, step=0.01, roles=("sweep",))
    max_grad_norm: float = declare(1.0, "Gradient clipping", "float",
        help="Caps how big one update can be, which prevents sudden jumps in the loss.",
        rule="Gradient clipping must be 0 (off) or a positive number (1.0 is typical).",
        minimum=0.0, maximum=100.0, decimals=2, step=0.1)
    adam_beta2: float = declare(0.999, "Adam beta2", "float",
        help="How long AdamW remembers the size of past updates. 0.999 is the default; 0.95 or 0.98 steadies "
             "runs whose loss spikes (short runs, high learning rates).",
        rule="Adam beta2 must be from 0.9 to 0.9999 (0.999 is the default).",
        minimum=0.9, maximum=0.9999, decimals=4, step=0.001, roles=("sweep", "model-card"), aliases=("beta2",))
    # Precision
    precision: str = declare("auto", "Precision", "choice",
        help="The number format used for training. 'Auto' picks the fastest safe one for your hardware.",
        rule="Precision must be one of auto, fp32, fp16, bf16.",
        choices=("auto", "fp32", "bf16", "fp16"), roles=("model-card",))
    quantization: str | None = declare(None, "Quantization", "choice",
        help="Stores the model's frozen weights in 8 or 4 bits to save memory (needs an NVIDIA GPU).",
        rule="Quantization must be empty, '8bit' or '4bit'.",
        choices=("8bit", "4bit"), optional=True, none_label="none", roles=("model-card",))
    # Checkpointing
    save_steps: int = declare(50, "Save every", "int",
        help="How often a checkpoint is saved. You can resume or roll back to any checkpoint.",
        rule="Save a checkpoint every 1 or more steps.",
        minimum=1, maximum=10**6, unit="steps")
    save_total: int = declare(3, "Keep checkpoints", "int",
        help="How many checkpoints to keep on disk; older ones are deleted.",
        rule="Keep at least 1 checkpoint.",
        minimum=1, maximum=100)
    # Validation
    eval_steps: int = declare(50, "Evaluate every", "int",
        help="How often the model is tested on examples it never trains on.",
        rule="Evaluate every 1 or more steps.",
        minimum=1, maximum=10**6, unit="steps")
    eval_strategy: str = declare("steps", "Evaluate", "choice",
        help="When to test the model: every few steps, after each pass, or never.",
        rule="Evaluation must happen by 'steps', by 'epoch', or 'no'.",
        choices=("steps", "epoch", "no"))
    # Sequences and speed
    max_seq_length: int = declare(1024, "Max sequence length", "int",
        help="The longest example, in tokens, the model reads. Longer ones are cut.",
        rule="The maximum sequence length must be a whole number from 16 to 131072 tokens.",
        minimum=16, maximum=131072, unit="tokens", advanced=False, roles=("sweep", "model-card"))
    packing: bool = declare(True, "Packing", "bool",
        help="Puts several short examples together so no time is wasted on padding. Examples never see each other.",
        rule="Packing is on or off.", roles=("model-card",))
    gradient_checkpointing: bool = declare(False, "Gradient checkpointing", "bool",
        help="Saves a lot of memory by recomputing some values; training gets about 30% slower.",
        rule="Gradient checkpointing is on or off.")
    logging_steps: int = declare(1, "Log every", "int",
        help="How often the loss is recorded.",
        rule="Log every 1 or more steps.",
        minimum=1, maximum=10**6, editable_by="app")
    seed: int = declare(42, "Seed", "int",
        help="A number that makes the run repeatable: the same seed gives the same result.",
        rule="The seed must be a whole number from 0 to 2^32-1.",
        minimum=0, maximum=2**32 - 1, roles=("model-card",))
    # Devices: batch_size is per device; one process per device (accelerate launch when more than 1)
    num_processes: int = declare(1, "Use GPUs", "int",
        help="How many GPUs train at once. Each GPU takes its own batch, so more GPUs finish sooner; the batch "
             "size is per GPU and the examples per update stay the same.",
        rule="The number of devices must be a whole number from 1 to 1024.",
        minimum=1, maximum=1024, advanced=False, multi_gpu=True)
    distributed_strategy: str = declare("ddp", "Multi-GPU strategy", "choice",
        help="How several GPUs share the work. ddp: each GPU holds the whole model (fastest). zero2: optimizer "
             "state is split. fsdp / zero3: the model itself is split too, for models too large for one GPU "
             "(slower).",
        rule="The multi-device strategy must be one of ddp, fsdp, zero2, zero3.",
        choices=("ddp", "zero2", "fsdp", "zero3"), multi_gpu=True)

    # ---- validation -----------------------------------------------------------------
    def problems(self) -> list[tuple[str, str]]:
        """Every invalid value as (field, plain-language message saying what to do), from the settings table."""
        out = [(s.name, s.rule) for s in settings_of(TrainingConfig) if not s.accepts(getattr(self, s.name))]
        if self.peft_method == "qlora" and self.quantization is None:  # the one rule that spans two settings
            out.append(("quantization",
                        "QLoRA needs 4-bit or 8-bit quantization: choose '4bit', or switch the method to 'lora'."))
        if self.lora_init in REWRITES_BASE and self.quantization is not None:
            out.append(("lora_init", f"The '{self.lora_init}' start rewrites the model's weights, which a 4-bit or "
                        "8-bit model cannot hold: choose the 'default' or 'gaussian' start, or switch quantization "
                        "off."))
        if isinstance(self.answer_schema, str) and self.answer_schema and self.answer_schema_dict() is None:
            out.append(("answer_schema", "The answer schema is not a usable JSON schema: write it as a JSON object "
                        "such as {\"type\": \"object\", \"properties\": {\"name\": {\"type\": \"string\"}}}."))
        if self.lora_init in REWRITES_BASE and self.use_dora:
            out.append(("lora_init", f"The '{self.lora_init}' start cannot be combined with DoRA (its adapter "
                        "cannot be converted back for the original model): choose one of the two."))
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

    def answer_schema_dict(self) -> dict | None:
        """The answer schema as a JSON object, or None when there is none or it is not a usable schema."""
        if not isinstance(self.answer_schema, str) or not self.answer_schema.strip():
            return None
        try:
            schema = json.loads(self.answer_schema)
        except ValueError:
            return None
        if not isinstance(schema, dict):
            return None
        from jsonschema import validators  # lazy: only runs with a schema need it
        from jsonschema.exceptions import SchemaError

        try:
            validators.validator_for(schema).check_schema(schema)
        except SchemaError:
            return None
        return schema

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


def all_settings() -> tuple[Setting, ...]:
    """Every setting, in field order (each declared on its TrainingConfig field above)."""
    return settings_of(TrainingConfig)


def setting(name: str) -> Setting:
    return next(spec for spec in all_settings() if spec.name == name)


def form_settings() -> list[Setting]:
    """The settings the form shows, basic ones first, in declaration order."""
    user = [spec for spec in all_settings() if spec.editable_by == "user"]
    return [spec for spec in user if not spec.advanced] + [spec for spec in user if spec.advanced]


def choices(name: str) -> tuple:
    """The allowed values of a choice setting."""
    return setting(name).choices


def settings_help() -> str:
    """The settings `--config` accepts, derived from the table (shown by `peftstudio train --help`)."""
    lines = ["settings (for --config, as a JSON object or file; unnamed ones keep their defaults):"]
    lines += [describe(spec) for spec in all_settings() if spec.editable_by == "user"]
    return "\n".join(lines)

# Adapter starts that move part of the frozen weights into the adapter (converted back when the adapter is saved)
REWRITES_BASE = ("pissa", "pissa-fast", "olora")

# The allowed values, as declared on the fields above.
TRAINING_METHODS = choices("training_method")
OPTIMIZERS = choices("optimizer")
SCHEDULERS = choices("scheduler")
PRECISIONS = choices("precision")
# how work is split over several devices (see engine/training/launcher.py): plain data parallel, or
# sharded (FSDP; DeepSpeed ZeRO-2 shards optimizer state and gradients, ZeRO-3 also the weights)
DISTRIBUTED_STRATEGIES = choices("distributed_strategy")
