"""Smart configuration: the settings that fit this machine, this model and this dataset, each with a why.

Rules (in order):
1. precision: fp32 on CPU and Apple GPUs; bf16 on CUDA where supported, else fp16.
2. memory budget: 85% of the training device's free memory (GPU memory, or available RAM).
3. quantization (CUDA only): off when the weights take at most 60% of the budget, else 8-bit, else 4-bit.
4. max sequence length: the dataset's p95 token length rounded up to 64 (at least 128), within the model's.
5. batch size: the largest power of two up to the profile's effective batch whose predicted peak (memory
   model, every sequence at the max length) fits the budget; gradient checkpointing is turned on when
   not even 1 fits without it.
6. gradient accumulation: effective batch / batch size, rounded up.
7. learning rate: the profile's, scaled by sqrt(effective batch / 16), within [1e-5, 1e-3].
8. epochs: the profile's; x2 (at most 10) under 100 examples, 1 above 50,000.
9. warm-up: the profile's share of the total steps; checkpoints and evaluation about every 10%.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from peftstudio.engine.app_settings import AppSettings
from peftstudio.engine.config import TrainingConfig, all_settings, setting
from peftstudio.engine.long_context import context_warning
from peftstudio.engine.data.stats import recommended_length
from peftstudio.engine.planning.catalog import smaller_models
from peftstudio.engine.planning.estimates import (SCALING_EFFICIENCY, TrainingEstimates, device_flops, estimate,
                                                format_duration)
from peftstudio.engine.planning.hardware import HardwareProfile
from peftstudio.engine.planning.memory_model import BYTES, MemoryBreakdown, estimate_memory, weight_bytes
from peftstudio.engine.planning import grpo_costs
from peftstudio.engine.planning.method_costs import (method_memory, method_time_factor, sequence_length,
                                                     sequences_per_example, startup_seconds, tokens_per_example)
from peftstudio.engine.planning.profiles import preference_defaults
from peftstudio.engine.planning.facts_reader import ModelFacts
from peftstudio.engine.planning.profiles import OptimizationProfile

BUDGET_SHARE = 0.85
WEIGHTS_SHARE = 0.6
MAX_BATCH = 64


@dataclass
class DatasetSummary:
    examples: int
    tokens_mean: float
    tokens_p95: int
    loss_tokens_per_epoch: int

    @classmethod
    def from_stats(cls, stats) -> "DatasetSummary":
        return cls(stats.examples, stats.tokens_mean, stats.tokens_p95, stats.loss_tokens_per_epoch)


@dataclass
class Settings:
    # the user's settings (engine/app_settings.py declares them and their defaults)
    price_per_kwh: float = AppSettings.electricity_price  # in the user's currency
    carbon_per_kwh: float = AppSettings.carbon_intensity  # kg CO2 per kWh of the local grid


@dataclass
class Alternative:
    title: str
    tradeoff: str  # one sentence
    config: TrainingConfig
    estimates: TrainingEstimates
    model_name: str | None = None


@dataclass
class Plan:
    config: TrainingConfig
    reasons: dict[str, str]
    memory: MemoryBreakdown
    estimates: TrainingEstimates
    device: str
    budget: float
    feasible: bool = True
    explanation: str = ""
    alternatives: list[Alternative] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"config": self.config.to_dict(), "reasons": self.reasons, "memory": self.memory.to_dict(),
                "estimates": self.estimates.to_dict(), "device": self.device, "budget": self.budget,
                "feasible": self.feasible, "explanation": self.explanation,
                "alternatives": [{"title": a.title, "tradeoff": a.tradeoff, "model_name": a.model_name,
                                  "config": a.config.to_dict(), "estimates": a.estimates.to_dict()}
                                 for a in self.alternatives]}


def _gib(n: float) -> str:
    return f"{n / 2**30:.1f} GB"


def memory_of(facts: ModelFacts, config: TrainingConfig, precision: str, device: str) -> MemoryBreakdown:
    # preference methods read two sequences (chosen and rejected) per example, GRPO num_generations answers
    memory = estimate_memory(facts, batch_size=config.batch_size * sequences_per_example(config),
                             seq_len=sequence_length(config), r=config.lora_r,
                             target_modules=config.target_modules, precision=precision,
                             quantization=config.quantization, gradient_checkpointing=config.gradient_checkpointing,
                             device=device, optimizer=config.optimizer, devices=config.num_processes,
                             strategy=config.distributed_strategy)
    memory.method = method_memory(facts, config, BYTES[precision],
                                  config.batch_size * sequences_per_example(config) * sequence_length(config), device)
    return memory


def device_budget(hardware: HardwareProfile, devices: int) -> float:
    """Memory one training process can use: the smallest of the GPUs it runs on, or its share of the RAM."""
    if hardware.cuda_available and hardware.gpus:
        return min(g.memory_available for g in hardware.gpus[: max(1, devices)])
    return hardware.device_memory / max(1, devices)  # every CPU process holds its own copy of the model


def precision_for(hardware: HardwareProfile) -> str:
    if hardware.cuda_available:
        return "bf16" if hardware.bf16_supported else "fp16"
    return "fp32"


BASE_EVALUATION_EXAMPLES = 64  # the base model's validation loss is measured on at most this many (session.py)


def evaluation_tokens(config, data: DatasetSummary, steps: int, epochs: float) -> float:
    """Validation tokens a run reads besides its training: the base model's loss before the first step, every
    scheduled evaluation, and the final one when the last step had none. For short runs (a sweep's trials) this
    is a large share of the time; the steps alone under-estimated such trials about 2.4x."""
    validation = round(data.examples * config.validation_split) if config.validation_split > 0 else 0
    if not validation:
        return 0.0
    if grpo_costs.is_grpo(config):  # a greedy answer to each held-back prompt, by the base and the tuned model
        return 2 * min(grpo_costs.HELD_BACK_PROMPTS, validation) * (data.tokens_mean + config.max_completion_length)
    if config.eval_strategy == "steps":
        evaluations = math.ceil(steps / max(1, config.eval_steps))  # the final one lands on the last step
    elif config.eval_strategy == "epoch":
        evaluations = math.ceil(epochs)
    else:
        evaluations = 0
    return data.tokens_mean * (min(BASE_EVALUATION_EXAMPLES, validation) + validation * evaluations)


def estimates_for(facts, hardware, config, data: DatasetSummary, precision, settings, measured=None):
    train_examples = max(1, round(data.examples * (1 - config.validation_split)))
    steps = config.max_steps or math.ceil(train_examples * config.epochs / config.effective_batch_size)
    epochs = config.epochs
    if config.max_steps:
        epochs = config.max_steps * config.effective_batch_size / train_examples
    memory = memory_of(facts, config, precision, hardware.device)
    tokens_per_epoch = tokens_per_example(config, data.tokens_mean) * train_examples
    return estimate(facts, hardware, tokens_per_epoch=tokens_per_epoch, epochs=epochs, steps=steps,
                    gradient_checkpointing=config.gradient_checkpointing, peak_memory=memory.total,
                    lora_parameters=memory.lora_parameters, save_total=config.save_total,
                    price_per_kwh=settings.price_per_kwh, carbon_per_kwh=settings.carbon_per_kwh,
                    measured_tokens_per_second=measured, devices=config.num_processes,
                    strategy=config.distributed_strategy, time_factor=method_time_factor(config, data.tokens_mean),
                    startup_seconds=startup_seconds(facts, config, device_flops(hardware)),
                    evaluation_tokens=evaluation_tokens(config, data, steps, epochs))


def plan(facts: ModelFacts, hardware: HardwareProfile, data: DatasetSummary, profile: OptimizationProfile,
         base: TrainingConfig | None = None, settings: Settings | None = None,
         measured_tokens_per_second: float | None = None) -> Plan:
    settings = settings or Settings()
    base = base or TrainingConfig()
    device, precision = hardware.device, precision_for(hardware)
    budget = BUDGET_SHARE * device_budget(hardware, base.num_processes)
    p = profile.config
    reasons: dict[str, str] = {}
    config = replace(base, model_name=facts.model_id, lora_r=p.lora_r, lora_alpha=p.lora_alpha,
                     lora_dropout=p.lora_dropout, target_modules=list(p.target_modules),
                     system_prompt=base.system_prompt or profile.system_prompt, precision="auto", packing=True)
    reasons["lora_r"] = f"The {profile.name} profile uses rank {p.lora_r}: enough capacity for its kind of task."
    reasons["precision"] = {"fp32": "Full precision: the only fast and safe choice without an NVIDIA GPU.",
                            "bf16": "bf16 halves memory and is as stable as full precision on this GPU.",
                            "fp16": "fp16 halves memory; this GPU has no bf16."}[precision]

    # 3. quantization
    config.quantization, config.peft_method = None, "lora"
    full = weight_bytes(facts, precision, None)
    if full > WEIGHTS_SHARE * budget and device == "cuda":
        eight = weight_bytes(facts, precision, "8bit")
        config.quantization = "8bit" if eight <= WEIGHTS_SHARE * budget else "4bit"
        config.peft_method = "qlora"
        reasons["quantization"] = (f"The weights take {_gib(full)} in {precision}, more than this GPU can spare "
                                   f"({_gib(budget)}), so they are stored in {config.quantization}.")
    else:
        reasons["quantization"] = "Off: the weights fit in memory at full quality."

    # 4. sequence length
    # (beyond the model's context only when the user turned on RoPE scaling, whose memory the plan then counts)
    context = facts.max_position if facts.max_position else 131072
    limit = setting("max_seq_length").maximum if base.rope_scaling else context
    config.max_seq_length = min(recommended_length(data.tokens_p95), limit) if data.tokens_p95 else p.max_seq_length
    reasons["max_seq_length"] = (f"95% of your examples are at most {data.tokens_p95} tokens long; "
                                 f"{config.max_seq_length} keeps them whole.")
    if data.tokens_p95 and recommended_length(data.tokens_p95) > context:
        reasons["max_seq_length"] = context_warning(data.tokens_p95, context, base.rope_scaling)

    if grpo_costs.is_grpo(base):  # before the batch: the answers per prompt and their length set its memory
        grpo_costs.choose(config, device, reasons)

    # 5-6. batch size, checkpointing, accumulation
    target = max(1, p.effective_batch_size)
    config.gradient_checkpointing = False
    batch = _largest_batch(facts, config, precision, device, budget, min(target, MAX_BATCH))
    if batch == 0:
        config.gradient_checkpointing = True
        batch = _largest_batch(facts, config, precision, device, budget, min(target, MAX_BATCH))
        reasons["gradient_checkpointing"] = "On: activations would not fit otherwise (about 30% slower)."
    else:
        reasons["gradient_checkpointing"] = "Off: activations fit in memory, so training runs at full speed."
    feasible, explanation = batch > 0, ""
    devices = config.num_processes
    config.batch_size = max(1, min(batch, math.ceil(target / devices)))
    config.gradient_accumulation = max(1, math.ceil(target / (config.batch_size * devices)))
    per = " per device" if devices > 1 else ""
    what = (f"{config.batch_size} prompts x {config.num_generations} answers of {sequence_length(config)} tokens"
            if grpo_costs.is_grpo(config) else f"{config.batch_size} sequences of {config.max_seq_length} tokens")
    reasons["batch_size"] = (f"{what}{per} fit in {_gib(budget)} (85% of free "
                             f"{'GPU memory' if device == 'cuda' else 'memory'}).")
    on_devices = f" x {devices} devices" if devices > 1 else ""
    reasons["gradient_accumulation"] = (f"{config.gradient_accumulation} x {config.batch_size}{on_devices} = "
                                        f"{config.effective_batch_size} examples per update, the profile's target.")
    if devices > 1:
        share = {"ddp": "each device holds the whole model", "zero2": "gradients and optimizer state are split "
                 "across devices", "fsdp": "weights, gradients and optimizer state are split across devices",
                 "zero3": "weights, gradients and optimizer state are split across devices"}[config.distributed_strategy]
        reasons["num_processes"] = (f"{devices} devices with {config.distributed_strategy}: {share}. Time assumes "
                                    f"each extra device adds {SCALING_EFFICIENCY[config.distributed_strategy]:.0%} "
                                    "of one device's speed.")

    # 7-9. learning rate, epochs, steps
    lr = p.learning_rate * math.sqrt(config.effective_batch_size / 16)
    config.learning_rate = float(f"{min(1e-3, max(1e-5, lr)):.2e}")
    reasons["learning_rate"] = (f"{p.learning_rate:g} for 16 examples per update, scaled to "
                                f"{config.effective_batch_size}: {config.learning_rate:g}.")
    if base.training_method not in ("sft", "grpo"):  # preference runs start from the method's and use case's defaults
        defaults = preference_defaults(base.training_method, profile.id)
        config.learning_rate, config.preference_beta = defaults.learning_rate, defaults.beta
        reasons["learning_rate"] = (f"{defaults.learning_rate:g}: the usual LoRA learning rate for "
                                    f"{base.training_method.upper()}.")
        reasons["preference_beta"] = defaults.reason[:1].upper() + defaults.reason[1:] + "."
    epochs = p.epochs
    if data.examples < 100:
        epochs = min(10.0, p.epochs * 2)
        reasons["epochs"] = f"Only {data.examples} examples: {epochs:g} passes so the model sees enough."
    elif data.examples > 50_000:
        epochs = 1.0
        reasons["epochs"] = "A large dataset: one pass is usually enough and avoids memorising."
    else:
        reasons["epochs"] = f"The profile's {epochs:g} passes over {data.examples} examples."
    config.epochs = float(epochs)
    train_examples = max(1, round(data.examples * (1 - config.validation_split)))
    steps = config.max_steps or math.ceil(train_examples * config.epochs / config.effective_batch_size)
    config.warmup_steps = math.ceil(p.warmup_ratio * steps)
    config.save_steps = config.eval_steps = max(1, math.ceil(steps / 10))
    reasons["warmup_steps"] = f"{config.warmup_steps} of {steps} steps ramp the learning rate up gently."
    reasons["save_steps"] = f"A checkpoint about every 10% of the run (every {config.save_steps} steps)."

    within_declared_ranges(config)
    memory = memory_of(facts, config, precision, device)
    if not feasible:
        explanation = (f"{facts.model_id} needs about {_gib(memory.total)} to train even with batch 1 and "
                       f"gradient checkpointing; this machine can use {_gib(budget)}.")
    estimates = estimates_for(facts, hardware, config, data, precision, settings, measured_tokens_per_second)
    result = Plan(config, reasons, memory, estimates, device, budget, feasible, explanation)
    result.alternatives = alternatives(result, facts, hardware, data, precision, settings)
    if not feasible and result.alternatives:
        fits = [a for a in result.alternatives if a.estimates.peak_memory <= budget]
        if fits:
            result.explanation += f" Nearest setting that fits: {fits[0].title}."
    return result


FITS, NEEDS_4BIT, TOO_LARGE = "fits", "needs 4-bit", "too large"


def fit_badge(facts: ModelFacts, hardware: HardwareProfile, seq_len: int = 512) -> tuple[str, float]:
    """(badge, bytes needed at batch 1) for training this model on this machine, within the same budget the
    planner plans with (85% of the free memory of one device)."""
    precision = precision_for(hardware)
    budget = BUDGET_SHARE * device_budget(hardware, 1)

    def need(quant, checkpointing=False):
        return estimate_memory(facts, batch_size=1, seq_len=seq_len, r=16, target_modules=["all-linear"],
                               precision=precision, quantization=quant, gradient_checkpointing=checkpointing,
                               device=hardware.device).total

    plain = need(None)
    if plain <= budget or need(None, True) <= budget:
        return FITS, plain
    if hardware.cuda_available and need("4bit", True) <= budget:
        return NEEDS_4BIT, need("4bit", True)
    return TOO_LARGE, plain


def within_declared_ranges(config: TrainingConfig) -> None:
    """Clamp every number the planner chose into the range the settings table declares (its only limits)."""
    for spec in all_settings():
        value = getattr(config, spec.name)
        if spec.kind in ("int", "float") and value is not None:
            setattr(config, spec.name, spec.clamp(value))


def _largest_batch(facts, config, precision, device, budget, limit) -> int:
    best, batch = 0, 1
    while batch <= limit:
        if memory_of(facts, replace(config, batch_size=batch), precision, device).total > budget:
            break
        best, batch = batch, batch * 2
    return best


def alternatives(result: Plan, facts: ModelFacts, hardware: HardwareProfile, data: DatasetSummary,
                 precision: str, settings: Settings) -> list[Alternative]:
    """Faster or leaner variants, each with its own estimate and its trade-off in one sentence."""
    config, out = result.config, []

    def add(title, tradeoff, changed: TrainingConfig, variant_facts=None, model_name=None):
        est = estimates_for(variant_facts or facts, hardware, changed, data, precision, settings)
        out.append(Alternative(title, tradeoff, changed, est, model_name))

    if config.lora_r > 8:
        add(f"Smaller adapter (rank {config.lora_r // 2})",
            "Less memory and slightly faster, but the adapter can learn a little less.",
            replace(config, lora_r=config.lora_r // 2, lora_alpha=max(1, config.lora_alpha // 2)))
    if config.max_seq_length > 256:
        shorter = max(128, config.max_seq_length // 2)
        add(f"Shorter sequences ({shorter} tokens)",
            "Uses about half the activation memory; the longest examples get cut.",
            replace(config, max_seq_length=shorter))
    if hardware.cuda_available and config.quantization != "4bit":
        add("4-bit weights (QLoRA)", "Much less memory for the weights; a bit slower and very slightly less "
            "accurate.", replace(config, quantization="4bit", peft_method="qlora"))
    if config.epochs > 1:
        add(f"Fewer passes ({max(1, int(config.epochs) - 1)} epochs)",
            "Finishes sooner; the model may learn your data less thoroughly.",
            replace(config, epochs=float(max(1, int(config.epochs) - 1))))
    for entry in smaller_models(config.model_name)[:1]:
        add(f"Smaller model ({entry.name})", "Trains and answers faster with less memory, but knows less.",
            replace(config, model_name=entry.model_id), entry.facts, entry.model_id)
    if not out:  # always offer something quicker
        add("Half as many passes", "Finishes in half the time; the model sees each example less often.",
            replace(config, epochs=config.epochs / 2))
    return out


def summary_line(result: Plan) -> str:
    e = result.estimates
    return (f"about {format_duration(e.duration_expected)} ({format_duration(e.duration_min)} to "
            f"{format_duration(e.duration_max)}), peak memory {_gib(e.peak_memory)}")
