"""The adapter a run trains: peft's objects built from the settings, and what each method needs around them.

peft and transformers implement every method here; this module only chooses and wires them:
    DoRA              LoraConfig(use_dora=True): a magnitude vector per adapted layer, saved with the adapter
    rsLoRA            LoraConfig(use_rslora=True): scaling alpha / sqrt(r)
    adapter start     LoraConfig(init_lora_weights=...): PiSSA and OLoRA move the top of each weight into the
                      adapter and leave a residual base; the adapter saved at the end is converted back to a
                      standard LoRA for the original model (peft's `path_initial_model_for_weight_conversion`),
                      so merging, exporting and the playground use the unmodified base like any other run
    LoRA+             peft's `create_loraplus_optimizer`: B matrices in their own parameter group at ratio x lr
    NEFTune           TrainingArguments(neftune_noise_alpha=...): transformers adds the noise in training mode
    embeddings        LoraConfig(trainable_token_indices=...) for the data's added tokens, or modules_to_save
                      with the embedding and output layers (kept tied when the model ties them)
    continue          PeftModel.from_pretrained(parent adapter, is_trainable=True) instead of a new adapter
"""
from __future__ import annotations

import shutil
from pathlib import Path

from peftstudio.engine.config import REWRITES_BASE, TrainingConfig
from peftstudio.engine.errors import PlainError
from peftstudio.engine.runs import RunFolder

PEFT_INIT = {"default": True, "gaussian": "gaussian", "pissa": "pissa", "pissa-fast": "pissa_niter_16",
             "olora": "olora"}


def _module_name(model, module) -> str | None:
    """The last part of a module's name in the model (what peft's modules_to_save matches)."""
    return next((name.split(".")[-1] for name, m in model.named_modules() if m is module), None)


def added_token_ids(tokenizer, examples: list[dict]) -> list[int]:
    """The ids of tokens the tokenizer lists as added (special tokens such as <think>) that the data uses."""
    added = set(getattr(tokenizer, "added_tokens_decoder", {}) or {})
    used = {token for example in examples for token in example["input_ids"]}
    return sorted(added & used)


def lora_config(config: TrainingConfig, model, token_ids: list[int] | None = None):
    from peft import LoraConfig

    targets = "all-linear" if config.target_modules == ["all-linear"] else list(config.target_modules)
    extra: dict = {}
    embeddings = model.get_input_embeddings()
    embed_name = _module_name(model, embeddings)
    if config.train_embeddings == "new-tokens" and token_ids:
        extra["trainable_token_indices"] = {embed_name: list(token_ids)}
    elif config.train_embeddings == "all":
        head = model.get_output_embeddings()
        names = [embed_name] + ([_module_name(model, head)] if head is not None else [])
        tied = head is not None and head.weight is embeddings.weight
        extra.update(modules_to_save=names, ensure_weight_tying=tied)
    return LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                      target_modules=targets, bias="none", task_type="CAUSAL_LM", use_dora=config.use_dora,
                      use_rslora=config.use_rslora, init_lora_weights=PEFT_INIT[config.lora_init], **extra)


def attach_adapter(model, config: TrainingConfig, run_dir: Path, token_ids: list[int] | None = None):
    """The model with the run's adapter: a new one as configured, or the parent version's to continue."""
    from peft import PeftModel, get_peft_model

    if config.parent_adapter:
        return PeftModel.from_pretrained(model, config.parent_adapter, is_trainable=True)
    try:
        peft_model = get_peft_model(model, lora_config(config, model, token_ids))
    except ValueError as exc:
        raise PlainError(
            title="The chosen layers do not exist in this model",
            what=f"LoRA could not be attached to {', '.join(config.target_modules)}.",
            why="Layer names differ between model families.",
            actions=["Use 'all-linear' to adapt every linear layer.",
                     "Check the layer names of this model in its config."],
            help_topic="settings",
        ) from exc
    run = RunFolder(run_dir)
    if config.lora_init in REWRITES_BASE and not run.initial_adapter.exists():
        # the start itself, before any step: the conversion at the end subtracts it (peft's recipe)
        initial = peft_model.peft_config["default"]
        initial.init_lora_weights = True
        staging = run.initial_adapter.with_name(run.initial_adapter.name + ".tmp")
        peft_model.save_pretrained(staging, safe_serialization=True)
        staging.replace(run.initial_adapter)
        initial.init_lora_weights = PEFT_INIT[config.lora_init]
    return peft_model


def save_adapter(model, folder: Path, run_dir: Path, config: TrainingConfig) -> None:
    """The trained adapter, as a standard LoRA that applies to the original base model."""
    initial = RunFolder(run_dir).initial_adapter
    if config.lora_init in REWRITES_BASE and not config.parent_adapter and initial.exists():
        # peft rewrites the initial adapter's config while converting: work on a copy, keep ours for a retry
        # (peft loads the copy as an adapter named after its folder, so the name has no dots)
        scratch = RunFolder(run_dir).conversion_scratch
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.copytree(initial, scratch / "initial_adapter")
        try:
            model.save_pretrained(folder, safe_serialization=True, selected_adapters=["default"],
                                  path_initial_model_for_weight_conversion=str(scratch / "initial_adapter"))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    else:  # only the trained adapter (preference runs also hold TRL's frozen reference copy)
        model.save_pretrained(folder, safe_serialization=True, selected_adapters=["default"])


def loraplus_optimizer(model, args, ratio: float):
    """peft's LoRA+ optimizer for the Trainer's optimizer class and settings (AdamW, SGD, 8-bit AdamW)."""
    from peft.optimizers import create_loraplus_optimizer
    from transformers import Trainer

    optimizer_cls, kwargs = Trainer.get_optimizer_cls_and_kwargs(args, model)
    kwargs = dict(kwargs)
    lr = kwargs.pop("lr", args.learning_rate)
    return create_loraplus_optimizer(model, optimizer_cls, lr=lr, loraplus_lr_ratio=ratio,
                                     loraplus_weight_decay=args.weight_decay, **kwargs)
