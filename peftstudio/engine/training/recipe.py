"""The training recipe's first phases, in the order a run goes through them:

    1. find the model        resolve the name or folder, make it trainable (a GGUF file becomes weights), tokenizer
    2. prepare the data      the method's reader: tokenized examples, or preference pairs
    3. build the model       load the base, measure it, attach the adapter (LoRA and friends)

then training/trainer_setup.py (4. the trainer), transformers' loop (5. train, with training/callbacks.py
watching every step) and training/finish.py (6. adapter, quality, version record). The session
(training/session.py) runs them in this order and owns the run's status; each phase is a plain function of
the run's config and what the phase before it made.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from peftstudio.engine.config import TrainingConfig
from peftstudio.engine.consent import allowed_remote_code
from peftstudio.engine.models import load_causal_lm, load_tokenizer, resolve_model, trainable_folder
from peftstudio.engine.training.adapter_setup import added_token_ids, attach_adapter
from peftstudio.engine.training.device import bitsandbytes_config, torch_dtype
from peftstudio.engine.training.methods import Method

Say = Callable[[str], None]  # tells the user what a phase is doing (each can take seconds to minutes)


@dataclass
class Prepared:
    """What phases 1-3 made: kept in memory across a pause or an automatic recovery, so both resume in seconds."""
    tokenizer: object
    data: object
    model: object
    device: str
    precision: str
    segments: bool = False  # the model attends per example inside a padding-free row (training/segments.py)
    base: dict = field(default_factory=dict)  # the method's measures of the base model

    def data_summary(self) -> dict:
        """The data's facts for run.json (the model card reads them)."""
        return {"train_examples": len(self.data.train), "validation_examples": len(self.data.validation),
                "loss_tokens_per_epoch": self.data.loss_tokens, "schema": self.data.schema,
                "tool_examples": getattr(self.data, "tool_examples", 0)}


def find_model(config: TrainingConfig, say: Say, progress: Say) -> tuple[Path, object]:
    """Phase 1: the trainable model folder and its tokenizer (`progress` hears a conversion's own steps)."""
    say("Finding the model")
    source = resolve_model(config.model_path or config.model_name)
    folder = trainable_folder(source, progress=progress)
    return folder, load_tokenizer(folder, allowed_remote_code(config))


def prepare_data(config: TrainingConfig, method: Method, tokenizer, say: Say):
    """Phase 2: the run's examples in the method's form, split into training and held-back parts."""
    say("Reading and tokenizing your examples")
    return method.prepare_data(config, tokenizer)


def build_model(config: TrainingConfig, method: Method, run_dir: Path, folder: Path, tokenizer, data,
                device: str, precision: str, say: Say) -> Prepared:
    """Phase 3: the base model in memory, measured before an adapter exists, then with the run's adapter."""
    from peft import prepare_model_for_kbit_training
    from transformers import set_seed

    from peftstudio.engine.training.segments import use_segments  # lazy: defers torch

    say("Loading the model into memory")
    quantization = bitsandbytes_config(config, precision)
    model = load_causal_lm(folder, dtype=torch_dtype(precision), quantization_config=quantization,
                           device_map={"": 0} if quantization is not None else None,
                           trust_remote_code=allowed_remote_code(config),
                           rope=(config.rope_scaling, config.max_seq_length))
    model.config.use_cache = False
    if quantization is not None:
        model = prepare_model_for_kbit_training(
            model, use_gradient_checkpointing=config.gradient_checkpointing,
            gradient_checkpointing_kwargs={"use_reentrant": False})
    elif config.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
    # measured before an adapter exists: PiSSA and OLoRA rewrite the base weights, and a continued version's
    # adapter is not the base either
    say(f"Measuring the base model on {len(data.validation)} held-back examples")
    base = method.measure_base(model, tokenizer, data)
    set_seed(config.seed)  # LoRA's random init must be the same for the same seed
    token_ids = added_token_ids(tokenizer, data.train) if config.train_embeddings == "new-tokens" else None
    if config.lora_init != "default" and not config.parent_adapter:
        say(f"Starting the adapter from the model's weights ({config.lora_init})")
    model = attach_adapter(model, config, run_dir, token_ids)
    if device == "cpu":  # the same dropout at a third of the cost (torch's own is fused on GPUs)
        from peftstudio.engine.training.lora_dropout import use_fast_dropout  # lazy: defers torch

        use_fast_dropout(model)
    # padding-free rows with attention inside each example where the model allows it; not with NEFTune, whose
    # noise is scaled by the row's length (one flat row would weaken it several-fold)
    segments = method.packs_segments and config.packing and not config.neftune_noise_alpha and use_segments(model)
    return Prepared(tokenizer=tokenizer, data=data, model=model, device=device, precision=precision,
                    segments=segments, base=base)


def ready_for_steps(config: TrainingConfig, model) -> None:
    """Before every (re)start of the loop: gradient checkpointing as the run's (maybe recovered) config says."""
    if config.gradient_checkpointing and not getattr(model, "is_gradient_checkpointing", False):
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
