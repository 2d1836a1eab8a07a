"""Phase 4 of the recipe (training/recipe.py): the trainer. Every method shares one set of transformers
TrainingArguments (schedule, checkpoints, logging, evaluation) and our callbacks; the method's row
(training/methods.py) picks the Trainer class that uses them."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from peftstudio.engine.config import TrainingConfig
from peftstudio.engine.runs.checkpoints import latest_checkpoint, read_marker
from peftstudio.engine.runs.events import EventLog
from peftstudio.engine.runs.folder import RunFolder
from peftstudio.engine.training.continuation import carried_optimizer_state
from peftstudio.engine.training.methods import Method
from peftstudio.engine.training.recipe import Prepared

# our optimizer choice -> transformers' `optim`
TRANSFORMERS_OPTIM = {"adamw": "adamw_torch", "sgd": "sgd", "adamw_8bit": "paged_adamw_8bit"}


def training_arguments(config: TrainingConfig, prepared: Prepared, output_dir: Path) -> dict:
    """transformers' TrainingArguments, as keywords, for the run's config on the run's device."""
    has_eval = bool(prepared.data.validation) and config.eval_strategy != "no"
    return dict(
        output_dir=str(output_dir),
        per_device_train_batch_size=config.batch_size, per_device_eval_batch_size=config.batch_size,
        gradient_accumulation_steps=config.gradient_accumulation,
        learning_rate=config.learning_rate, num_train_epochs=config.epochs,
        max_steps=config.max_steps if config.max_steps else -1, warmup_steps=config.warmup_steps,
        lr_scheduler_type=config.scheduler if config.scheduler != "constant" else "constant_with_warmup",
        optim=TRANSFORMERS_OPTIM[config.optimizer],
        weight_decay=config.weight_decay, max_grad_norm=config.max_grad_norm, adam_beta2=config.adam_beta2,
        bf16=prepared.precision == "bf16", fp16=prepared.precision == "fp16", use_cpu=prepared.device == "cpu",
        logging_strategy="steps", logging_steps=config.logging_steps,
        save_strategy="steps", save_steps=config.save_steps, save_total_limit=config.save_total,
        eval_strategy=config.eval_strategy if has_eval else "no", eval_steps=config.eval_steps,
        seed=config.seed, data_seed=config.seed,
        train_sampling_strategy="random" if config.packing else "group_by_length",
        report_to="none", disable_tqdm=True, remove_unused_columns=False, prediction_loss_only=True,
        dataloader_pin_memory=False, dataloader_num_workers=0,
        logging_nan_inf_filter=False,  # a NaN loss must reach the anomaly detector, not be averaged away
        neftune_noise_alpha=config.neftune_noise_alpha or None,
    )


def build_trainer(config: TrainingConfig, method: Method, prepared: Prepared, folder: RunFolder, events: EventLog,
                  controls, on_threads: Callable[[int, float], None]):
    """The method's trainer with our callbacks; returns (trainer, its SessionCallback)."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    from peftstudio.engine.training.callbacks import SessionCallback  # lazy: defers transformers
    from peftstudio.engine.training.cpu_threads import CpuThreadTuner  # lazy: defers transformers

    built = {}
    callback = SessionCallback(events, controls, lambda: built["trainer"], time.time(), run_dir=folder.path)
    callbacks = [callback]
    if prepared.device == "cpu":  # one compute thread per core the user's other programs leave free
        callbacks.append(CpuThreadTuner(on_change=on_threads))
    trainer = method.build_trainer(config, prepared.model, prepared.tokenizer, prepared.data,
                                   training_arguments(config, prepared, folder.checkpoints), callbacks,
                                   prepared.segments)
    built["trainer"] = trainer
    trainer.loraplus_lr_ratio = config.loraplus_lr_ratio
    if config.parent_adapter and config.carry_optimizer and latest_checkpoint(folder.checkpoints) is None:
        trainer.carried_optimizer_state = carried_optimizer_state(Path(config.parent_adapter))
    # the stock printer writes every log dict to stdout; our events and progress bar replace it
    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    return trainer, callback


def restore_counters(trainer, callback, checkpoint: Path) -> None:
    """What transformers' checkpoint does not hold: our token and example counts, and the time already spent."""
    marker = read_marker(checkpoint) or {}
    trainer.loss_tokens_seen = marker.get("loss_tokens_seen", 0)
    trainer.examples_seen = marker.get("examples_seen", 0)
    trainer.input_tokens_seen = marker.get("input_tokens_seen", 0)
    callback.started_at = time.time() - marker.get("elapsed_seconds", 0.0)
