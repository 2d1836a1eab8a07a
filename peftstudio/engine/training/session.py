"""The training session: one run, from a config to a trained adapter, readable top to bottom.

    session = TrainingSession.create(config)      # makes the run folder
    session.run()                                  # blocks; returns the final Status
    session.pause() / session.stop()               # from any thread; honoured at the next step
    session.run()                                  # after a pause: resumes exactly from the checkpoint

A run folder holds config.json, run.json, events.jsonl, checkpoints/ and adapter/; it alone is
enough to resume (`TrainingSession.open(run_dir).run()`), compare or export.
"""
from __future__ import annotations

import os
import re
import shutil
import time
from datetime import datetime
from pathlib import Path
from typing import Iterable

from peftstudio.engine import paths
from peftstudio.engine.config import TrainingConfig
from peftstudio.engine.consent import allowed_remote_code
from peftstudio.engine.data.prepare import prepare
from peftstudio.engine.data.tokenize import IGNORE_INDEX
from peftstudio.engine.errors import PlainError, from_exception
from peftstudio.engine.history.store import default_store as store
from peftstudio.engine.history.versions import create_version, versions_record
from peftstudio.engine.models import load_causal_lm, load_tokenizer, resolve_model, trainable_folder
from peftstudio.engine.planning.profiles import get_builtin
from peftstudio.engine.quality import quality_report, repetition_rate
from peftstudio.engine.runs import lock as run_lock, ranks
from peftstudio.engine.training.adapter_setup import save_adapter
from peftstudio.engine.training.anomalies import MAX_RECOVERIES, make_anomaly, recovery_plan
from peftstudio.engine.runs.checkpoints import latest_checkpoint, read_marker, remove_incomplete
from peftstudio.engine.training.continuation import carried_optimizer_state
from peftstudio.engine.training.preference import REFERENCE_ADAPTER, prepare_preferences
from peftstudio.engine.evaluation.preference_accuracy import preference_accuracy
from peftstudio.engine.training.device import (
    bitsandbytes_config,
    check_quantization,
    detect_device,
    resolve_precision,
    torch_dtype,
)
from peftstudio.engine.runs.events import EventLog, Listener, Status, can_transition, last_status, read_events
from peftstudio.engine.runs.folder import RunFolder

OPTIMIZERS = {"adamw": "adamw_torch", "sgd": "sgd", "adamw_8bit": "paged_adamw_8bit"}
LAUNCHED_ENV = "PEFTSTUDIO_LAUNCHED"  # set by the launcher for the processes it starts


def new_run_dir(config: TrainingConfig, parent: Path | None = None) -> Path:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", config.model_name.split("/")[-1]).strip("-").lower()[:40] or "model"
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    parent = parent or paths.runs_dir()
    candidate = parent / f"{stamp}-{slug}"
    n = 1
    while candidate.exists():
        n += 1
        candidate = parent / f"{stamp}-{slug}-{n}"
    return candidate


def _lock_unless_launched(folder: RunFolder) -> run_lock.RunLock | None:
    """The run's lock; ranks started by our launcher work under their parent's lock, other ranks under rank 0's."""
    if os.environ.get(LAUNCHED_ENV) or not ranks.is_main():
        return None
    return folder.lock()


class TrainingSession:
    def __init__(self, run_dir: Path, config: TrainingConfig, listeners: Iterable[Listener] = ()):
        from peftstudio.engine.training.callbacks import Controls

        self.folder = RunFolder(run_dir)
        self.run_dir = self.folder.path
        self.config = config
        self.events = EventLog(self.folder.events_file, listeners)
        self.controls = Controls()
        self.error: PlainError | None = None
        self.summary: dict = {}
        self._status = Status.CREATED
        self._tokenizer = None
        self._model = None
        self._segments = False  # whether the loaded model attends per segment of a padding-free row
        self._data = None
        self._loaded_precision: str | None = None
        self._lock: run_lock.RunLock | None = None

    # ---- run folders ----------------------------------------------------------------
    @classmethod
    def create(cls, config: TrainingConfig, run_dir: Path | None = None,
               listeners: Iterable[Listener] = ()) -> "TrainingSession":
        config.check()
        folder = RunFolder.create(run_dir or new_run_dir(config), config)
        session = cls(folder.path, config, listeners)
        try:
            session._lock = _lock_unless_launched(folder)
            session._index(folder.info())
            session.events.emit("status", status=Status.CREATED.value)
        except BaseException:
            session.close()
            shutil.rmtree(folder.path)  # made just now, holds nothing of the user's
            raise
        return session

    @classmethod
    def open(cls, run_dir: Path, listeners: Iterable[Listener] = ()) -> "TrainingSession":
        folder = RunFolder.open(run_dir)
        config = folder.config()
        lock = _lock_unless_launched(folder)  # before reading the status: the owner may still be writing it
        session = cls(folder.path, config, listeners)
        session._lock = lock
        session._status = Status(last_status(folder.events_file) or Status.CREATED.value)
        if not ranks.is_main():
            # rank 0 may already have marked the run as starting; the other ranks just follow it
            session._status = Status.CREATED if session._status in (Status.RUNNING, Status.INITIALIZING) \
                else session._status
        elif session._status in (Status.RUNNING, Status.INITIALIZING) and not run_lock.training_here(folder.path):
            # we hold the lock (or our launcher does), so the process that trained it ended without saying so
            # (killed, crashed, power cut)
            session._set_status(Status.FAILED, reason="The previous training process ended unexpectedly.")
        return session

    def reload_status(self) -> Status:
        """The status as the run's events say (after other processes trained it for this session)."""
        self._status = Status(last_status(self.folder.events_file) or Status.CREATED.value)
        return self._status

    def close(self) -> None:
        """Let other processes open this run (also happens when the process ends)."""
        if self._lock is not None:
            self._lock.release()

    @property
    def status(self) -> Status:
        return self._status

    @property
    def checkpoints_dir(self) -> Path:
        return self.folder.checkpoints

    @property
    def adapter_dir(self) -> Path:
        return self.folder.adapter

    def _write_run_info(self, **updates) -> None:
        if not ranks.is_main():
            return
        info = self.folder.update_info(model_name=self.config.model_name, dataset_path=self.config.dataset_path,
                                       status=self._status.value, **updates)
        self._index(info)

    def _index(self, info: dict) -> None:
        store().upsert_run(info, self.run_dir, self.config.to_dict())  # the index; the folder stays the truth

    def _say_stage(self, message: str) -> None:
        """What the run is doing before its first step (each of these can take seconds to minutes)."""
        self.events.emit("notification", message=f"{message}...", stage="preparing")

    def _recommended_examples(self) -> int | None:
        """What the run's use case (chosen in the wizard) recommends, when known."""
        profile = get_builtin(self.folder.info().get("profile_id") or "")
        return profile.requirements.recommended_dataset_size if profile is not None else None

    def annotate(self, **info) -> None:
        """Extra facts about the run for run.json (e.g. the use-case profile chosen in the wizard)."""
        self._write_run_info(**info)

    def _set_status(self, status: Status, **fields) -> None:
        if status != self._status and not can_transition(self._status, status):
            raise RuntimeError(f"invalid transition {self._status.value} -> {status.value}")
        self._status = status
        self.events.emit("status", status=status.value, **fields)
        self._write_run_info()

    # ---- controls (any thread) ------------------------------------------------------
    def pause(self) -> None:
        self.controls.pause_requested.set()

    def stop(self) -> None:
        if self._status == Status.PAUSED:  # nothing is training: end the run now, keeping its checkpoint
            self._set_status(Status.STOPPED)
            self.close()
            return
        self.controls.stop_requested.set()

    # ---- the recipe -----------------------------------------------------------------
    def run(self) -> Status:
        """Train until done, paused or stopped. Never raises: failures end in Status.FAILED + self.error."""
        if self._lock is None or self._lock.released:  # trained again after a stop: own the folder again
            self._lock = _lock_unless_launched(self.folder)
        run_lock.claim_training(self.run_dir)
        try:
            return self._run()
        finally:
            run_lock.end_training(self.run_dir)
            if self._status in (Status.COMPLETED, Status.FAILED, Status.STOPPED):
                self.close()

    def _run(self) -> Status:
        self.controls.clear()
        if ranks.is_main() and not os.environ.get(LAUNCHED_ENV):
            ranks.clear_requests(self.run_dir)  # a stale request from an earlier launch
        self.error = None
        self._set_status(Status.INITIALIZING)
        try:
            trainer = self._train_with_recovery()
            if self.controls.stop_requested.is_set():
                self._set_status(Status.STOPPED, step=trainer.state.global_step)
            elif self.controls.pause_requested.is_set():
                self._set_status(Status.PAUSED, step=trainer.state.global_step,
                                 elapsed_seconds=time.time() - self._started_at)
            else:
                self._finish(trainer)
        except BaseException as exc:  # noqa: BLE001 - every failure becomes a plain error and a FAILED run
            callback = getattr(self, "_callback", None)
            if callback is not None:
                callback.stop_heartbeat()
            if ranks.is_main():
                remove_incomplete(self.checkpoints_dir)
            self.error = from_exception(exc, report_folder=self.run_dir)
            try:
                self.events.emit("error", **self.error.to_dict())
                self._set_status(Status.FAILED, reason=self.error.title)
            except OSError:
                self._status = Status.FAILED  # the disk may be too full even for the event line
            if isinstance(exc, KeyboardInterrupt):
                raise
        return self._status

    def _train_with_recovery(self):
        """Train; on an auto-recoverable anomaly or out-of-memory error, adjust and continue (bounded)."""
        recoveries = 0
        while True:
            trainer, resume_from = self._prepare()
            self._set_status(Status.RUNNING, resumed_from_step=_step_of(resume_from), recoveries=recoveries)
            request = None
            try:
                trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
                request = self._callback.recovery_request
            except (MemoryError, RuntimeError) as exc:
                if not _is_out_of_memory(exc) or ranks.is_distributed():
                    # one rank out of memory cannot retry alone: the others wait in a collective
                    raise
                request = make_anomaly("oom", trainer.state.global_step, time.time(), "out of memory")
                self.events.emit("anomaly", **request.to_event())
            finally:
                self._callback.stop_heartbeat()
            if request is None:
                return trainer
            plan = recovery_plan(request.anomaly_type, self.config)
            recoveries += 1
            if plan is None or recoveries > MAX_RECOVERIES:
                raise PlainError(
                    title="Training could not recover on its own",
                    what=f"PEFT Studio tried {recoveries - 1} automatic fixes, but the problem came back: "
                         f"{request.message}",
                    why="The settings are too aggressive for this data or this machine.",
                    actions=["Resume from the last checkpoint with a lower learning rate.",
                             "Lower the batch size or the maximum sequence length.",
                             "Check the dataset for broken or extremely long examples."],
                    help_topic="out-of-memory" if request.anomaly_type == "oom" else "troubleshooting",
                )
            self.config, _, description = plan
            self.folder.write_config(self.config)
            if latest_checkpoint(self.checkpoints_dir) is None:
                self._model = None  # nothing to roll back to: start again from fresh adapter weights
            self.events.emit("notification", message=description, recovery=True,
                             anomaly_type=request.anomaly_type, recoveries=recoveries)

    def _prepare(self):
        config = self.config
        trust_code = allowed_remote_code(config)  # first: a run folder's own setting is not the user's consent
        device, bf16_ok = detect_device()
        precision = resolve_precision(config.precision, device, bf16_ok)
        check_quantization(config, device)
        if self._model is not None and REFERENCE_ADAPTER in getattr(self._model, "peft_config", {}):
            # TRL copies the adapter as the frozen reference when its trainer is built: after a pause or a
            # recovery the model in memory is the trained one, so start again from the run's starting point
            # (the checkpoint then restores the trained adapter)
            self._model = None
        if self._model is None:
            say = self._say_stage
            say("Finding the model")
            source = resolve_model(config.model_path or config.model_name)
            folder = trainable_folder(source, progress=lambda msg: self.events.emit("notification", message=msg,
                                                                                     stage="preparing"))
            self._tokenizer = load_tokenizer(folder, trust_code)
            say("Reading and tokenizing your examples")
            self._data = prepare(config, self._tokenizer) if config.training_method == "sft" else \
                prepare_preferences(config)
            say("Loading the model into memory")
            self._model = self._load_peft_model(folder, precision)
            if device == "cpu":  # the same dropout at a third of the cost (torch's own is fused on GPUs)
                from peftstudio.engine.training.lora_dropout import use_fast_dropout

                use_fast_dropout(self._model)
            self._loaded_precision = precision
            data = {"train_examples": len(self._data.train), "validation_examples": len(self._data.validation),
                    "loss_tokens_per_epoch": self._data.loss_tokens, "schema": self._data.schema}
            self._write_run_info(data=data)  # the data summary is a fact of the run: the model card reads it
            packing = "per example" if self._segments else "rows" if config.packing else "off"
            self.events.emit("notification", message="Model and data ready", stage="ready",
                             base_eval_loss=self._base_eval_loss, device=device, precision=precision,
                             packing=packing, **data)
        if config.gradient_checkpointing and not getattr(self._model, "is_gradient_checkpointing", False):
            self._model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
            self._model.enable_input_require_grads()
        if ranks.is_main():
            removed = remove_incomplete(self.checkpoints_dir)
            if removed:
                self.events.emit("notification", message=f"{', '.join(sorted(p.name for p in removed))} was cut "
                                 "short or damaged and was removed; training goes on from the newest complete "
                                 "checkpoint.")
        resume_from = latest_checkpoint(self.checkpoints_dir)
        trainer = self._build_trainer(device, precision)
        self._say_stage("Training the first step (the time left shows after it)" if resume_from is None
                        else f"Resuming from {resume_from.name}")
        if resume_from is not None:
            marker = read_marker(resume_from) or {}
            trainer.loss_tokens_seen = marker.get("loss_tokens_seen", 0)
            trainer.examples_seen = marker.get("examples_seen", 0)
            trainer.input_tokens_seen = marker.get("input_tokens_seen", 0)
            self._started_at = time.time() - marker.get("elapsed_seconds", 0.0)
            self._callback.started_at = self._started_at
        return trainer, resume_from

    def _validation_loss(self, model) -> float | None:
        """Mean loss per target token of `model` on the validation split."""
        import torch

        from peftstudio.engine.data.packing import PaddedCollator
        from peftstudio.engine.token_loss import selected_token_loss

        features = self._data.validation[:64]
        if not features:
            return None
        collate, total, count = PaddedCollator(self._tokenizer.pad_token_id), 0.0, 0
        device = next(model.parameters()).device
        with torch.no_grad():
            for start in range(0, len(features), 8):
                batch = {k: v.to(device) for k, v in collate(features[start:start + 8]).items()}
                loss, n = selected_token_loss(model, batch)
                total, count = total + float(loss), count + int(n)
        return total / max(1, count)

    def _sample_repetition(self) -> float | None:
        """Share of repeated 3-grams in a greedy answer to the first validation prompt."""
        import torch


        if not self._data.validation:
            return None
        example = self._data.validation[0]
        prompt_len = next((i for i, t in enumerate(example["labels"]) if t != IGNORE_INDEX), len(example["labels"]))
        ids = torch.tensor([example["input_ids"][:prompt_len]], device=next(self._model.parameters()).device)
        self._model.eval()
        with torch.no_grad():
            out = self._model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=48,
                                       do_sample=False, pad_token_id=self._tokenizer.pad_token_id)
        return repetition_rate(out[0, ids.shape[1]:].tolist())

    def _load_peft_model(self, folder: Path, precision: str):
        from peft import prepare_model_for_kbit_training
        from transformers import set_seed

        from peftstudio.engine.training.adapter_setup import added_token_ids, attach_adapter
        from peftstudio.engine.training.segments import use_segments

        config = self.config
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
        # the base model's loss, measured before an adapter exists (PiSSA and OLoRA rewrite the base weights, and
        # a continued version's adapter is not the base either)
        self._say_stage(f"Measuring the base model on {len(self._data.validation)} held-back examples")
        if config.training_method == "sft":
            self._base_eval_loss = self._validation_loss(model)
        else:  # preference runs: how often the base model already prefers the chosen answer
            self._base_eval_loss = None
            self._base_preference = preference_accuracy(model, self._tokenizer, self._data.validation_pairs)
        set_seed(config.seed)  # LoRA's random init must be the same for the same seed
        token_ids = added_token_ids(self._tokenizer, self._data.train) if config.train_embeddings == "new-tokens" \
            else None
        if config.lora_init != "default" and not config.parent_adapter:
            self._say_stage(f"Starting the adapter from the model's weights ({config.lora_init})")
        model = attach_adapter(model, config, self.run_dir, token_ids)
        # padding-free rows with attention inside each example (training/segments.py) where the model allows it;
        # not with NEFTune, whose noise is scaled by the row's length (one flat row would weaken it several-fold)
        self._segments = config.training_method == "sft" and config.packing and not config.neftune_noise_alpha \
            and use_segments(model)
        return model

    def _build_trainer(self, device: str, precision: str):
        from transformers import TrainingArguments

        from peftstudio.engine.data.packing import FlatCollator, PackedCollator, PaddedCollator
        from peftstudio.engine.training.callbacks import SessionCallback
        from peftstudio.engine.training.cpu_threads import CpuThreadTuner
        from peftstudio.engine.training.loss_trainer import LossTokenTrainer

        config, data = self.config, self._data
        has_eval = bool(data.validation) and config.eval_strategy != "no"
        scheduler = config.scheduler if config.scheduler != "constant" else "constant_with_warmup"
        arguments = dict(
            output_dir=str(self.checkpoints_dir),
            per_device_train_batch_size=config.batch_size, per_device_eval_batch_size=config.batch_size,
            gradient_accumulation_steps=config.gradient_accumulation,
            learning_rate=config.learning_rate, num_train_epochs=config.epochs,
            max_steps=config.max_steps if config.max_steps else -1, warmup_steps=config.warmup_steps,
            lr_scheduler_type=scheduler, optim=OPTIMIZERS[config.optimizer],
            weight_decay=config.weight_decay, max_grad_norm=config.max_grad_norm,
            bf16=precision == "bf16", fp16=precision == "fp16", use_cpu=device == "cpu",
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
        self._started_at = time.time()
        trainer_holder = {}
        self._callback = SessionCallback(self.events, self.controls, lambda: trainer_holder["t"], self._started_at,
                                         run_dir=self.run_dir)
        callbacks = [self._callback]
        if device == "cpu":  # one compute thread per core the user's other programs leave free
            callbacks.append(CpuThreadTuner(on_change=self._say_threads))
        if config.training_method != "sft":  # TRL's trainer for the method, with the same arguments
            from peftstudio.engine.training.preference import build_trainer

            arguments.pop("train_sampling_strategy")  # TRL pads pairs itself
            trainer = build_trainer(config, self._model, self._tokenizer, data, arguments, callbacks)
        else:
            pad_id = self._tokenizer.pad_token_id
            collator = FlatCollator() if self._segments else \
                PackedCollator(pad_id, config.max_seq_length) if config.packing else PaddedCollator(pad_id)
            trainer = LossTokenTrainer(
                model=self._model, args=TrainingArguments(**arguments), train_dataset=data.train,
                eval_dataset=data.validation if has_eval else None, data_collator=collator, callbacks=callbacks,
            )
        trainer_holder["t"] = trainer
        trainer.loraplus_lr_ratio = config.loraplus_lr_ratio
        if config.parent_adapter and config.carry_optimizer and latest_checkpoint(self.checkpoints_dir) is None:
            trainer.carried_optimizer_state = carried_optimizer_state(Path(config.parent_adapter))
        # the stock printer writes every log dict to stdout; our events and progress bar replace it
        from transformers.trainer_callback import PrinterCallback, ProgressCallback

        trainer.remove_callback(PrinterCallback)
        trainer.remove_callback(ProgressCallback)
        return trainer

    def _say_threads(self, threads: int, others_busy_cores: float) -> None:
        from peftstudio.engine.training.cpu_threads import describe

        self.events.emit("notification", message=describe(threads, others_busy_cores), stage="threads",
                         threads=threads, others_busy_cores=round(others_busy_cores, 2))

    def _finish(self, trainer) -> None:
        final_eval = None
        if self._data.validation and self.config.eval_strategy != "no":
            evals = [e for e in trainer.state.log_history if "eval_loss" in e]
            if evals and evals[-1].get("step") == trainer.state.global_step:
                final_eval = evals[-1]["eval_loss"]
            else:
                final_eval = trainer.evaluate()["eval_loss"]  # logged as an "eval" event by our callback
        if not ranks.is_main():  # rank 0 saves the adapter and records the version
            self._status = Status.COMPLETED
            return
        staging = self.folder.adapter_staging
        shutil.rmtree(staging, ignore_errors=True)
        save_adapter(self._model, staging, self.run_dir, self.config)
        self._tokenizer.save_pretrained(staging)
        shutil.rmtree(self.adapter_dir, ignore_errors=True)
        os.replace(staging, self.adapter_dir)

        eval_losses = [e["eval_loss"] for e in read_events(self.events.path) if e["type"] == "eval"]
        preference = {}
        if self.config.training_method != "sft":
            preference = {"base_preference_accuracy": getattr(self, "_base_preference", None),
                          "preference_accuracy": preference_accuracy(self._model, self._tokenizer,
                                                                     self._data.validation_pairs)}
        repetition = self._sample_repetition() if self.config.training_method == "sft" else None
        quality = quality_report(getattr(self, "_base_eval_loss", None), eval_losses, repetition,
                                 len(self._data.train) if self._data is not None else None,
                                 self._recommended_examples())
        losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
        self.summary = {
            "steps": trainer.state.global_step, "epochs": trainer.state.epoch,
            "first_loss": losses[0] if losses else None, "final_loss": losses[-1] if losses else None,
            "final_eval_loss": final_eval, "train_tokens": trainer.loss_tokens_seen,
            "duration_seconds": time.time() - self._started_at, "adapter": str(self.adapter_dir),
            "quality": quality, **preference,
        }

        info = self.folder.info()
        if info.get("sweep"):  # a sweep's trial: "Keep the best" makes the winner the version (sweep_results)
            self._write_run_info(summary=self.summary)
            self._set_status(Status.COMPLETED, **self.summary)
            return
        version = create_version(store(), self.run_dir, self.config, self.summary,
                                 model_name=info.get("version_name"),  # named in the wizard, or the continued one
                                 parent_version=(info.get("continued_from") or {}).get("version"))
        self.summary["version"] = f"{version['model_name']} v{version['version']}"
        # the version's record also lives in the run folder, so a lost or damaged store can be rebuilt
        self._write_run_info(summary=self.summary, version_record=versions_record(version))
        self.events.emit("version", model_name=version["model_name"], version=version["version"],
                         bump=version["bump"], size_bytes=version["size_bytes"])
        self._set_status(Status.COMPLETED, **self.summary)


def _is_out_of_memory(exc: BaseException) -> bool:
    """torch.cuda.OutOfMemoryError, MPS "out of memory" RuntimeErrors, and CPU MemoryError."""
    return isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError" or \
        "out of memory" in str(exc).lower()


def _step_of(checkpoint: Path | None) -> int:
    return int(checkpoint.name.split("-")[-1]) if checkpoint else 0
