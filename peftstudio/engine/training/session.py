"""The training session: one run's lifecycle, from a config to a trained adapter.

    session = TrainingSession.create(config)      # makes the run folder (engine/runs)
    session.run()                                  # blocks; returns the final Status
    session.pause() / session.stop()               # from any thread; honoured at the next step
    session.run()                                  # after a pause: resumes exactly from the checkpoint

`run()` goes through the recipe's phases top to bottom: find the model, prepare the data, build the model
(training/recipe.py), the trainer (training/trainer_setup.py), train (transformers' loop watched by
training/callbacks.py; anomalies and out-of-memory errors recover here, bounded), finish (training/finish.py).
What differs between methods is one row of training/methods.py. The session owns the run's status, its lock
and its record; the run folder alone is enough to resume (`TrainingSession.open(run_dir).run()`), compare or
export.
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
from peftstudio.engine.errors import PlainError, Terminated, from_exception
from peftstudio.engine.history.store import default_store as store
from peftstudio.engine.history.versions import versions_record
from peftstudio.engine.planning.profiles import get_builtin
from peftstudio.engine.runs import lock as run_lock, ranks
from peftstudio.engine.runs.checkpoints import checkpoint_step, latest_checkpoint, remove_incomplete
from peftstudio.engine.runs.events import EventLog, Listener, Status, can_transition, last_status
from peftstudio.engine.runs.folder import RunFolder
from peftstudio.engine.training import finish, recipe
from peftstudio.engine.training.anomalies import MAX_RECOVERIES, make_anomaly, recovery_plan
from peftstudio.engine.training.device import check_quantization, detect_device, resolve_precision
from peftstudio.engine.training.methods import Method, method_of
from peftstudio.engine.training.preference import REFERENCE_ADAPTER
from peftstudio.engine.training.trainer_setup import build_trainer, restore_counters

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
        from peftstudio.engine.training.callbacks import Controls  # lazy: defers transformers

        self.folder = RunFolder(run_dir)
        self.run_dir = self.folder.path
        self.config = config
        self.events = EventLog(self.folder.events_file, listeners)
        self.controls = Controls()
        self.error: PlainError | None = None
        self.summary: dict = {}
        self._status = Status.CREATED
        self._prepared: recipe.Prepared | None = None  # phases 1-3, kept across a pause or a recovery
        self._callback = None  # the running trainer's SessionCallback
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

    @property
    def method(self) -> Method:
        return method_of(self.config)

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
                                 elapsed_seconds=time.time() - self._callback.started_at)
            else:
                self._finish(trainer)
        except BaseException as exc:  # noqa: BLE001 - every failure becomes a plain error and a FAILED run
            if self._callback is not None:
                self._callback.stop_heartbeat()
            if ranks.is_main():
                remove_incomplete(self.checkpoints_dir)
            self.error = from_exception(exc, report_folder=self.run_dir)
            # asked to end (SIGTERM): not a failure of the run, which resumes from its last checkpoint
            ended = Status.STOPPED if isinstance(exc, Terminated) and can_transition(self._status, Status.STOPPED) \
                else Status.FAILED
            try:
                if ended == Status.FAILED:
                    self.events.emit("error", **self.error.to_dict())
                self._set_status(ended, reason=self.error.title)
            except OSError:
                self._status = ended  # the disk may be too full even for the event line
            if isinstance(exc, KeyboardInterrupt):
                raise
        return self._status

    def _train_with_recovery(self):
        """Train; on an auto-recoverable anomaly or out-of-memory error, adjust and continue (bounded)."""
        recoveries = 0
        while True:
            trainer, resume_from = self._prepare()
            self._set_status(Status.RUNNING, resumed_from_step=checkpoint_step(resume_from) if resume_from else 0, recoveries=recoveries)
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
                self._prepared = None  # nothing to roll back to: start again from fresh adapter weights
            self.events.emit("notification", message=description, recovery=True,
                             anomaly_type=request.anomaly_type, recoveries=recoveries)

    def _prepare(self):
        """Phases 1-4 (training/recipe.py): kept in memory across a pause or a recovery, the trainer made anew."""
        config = self.config
        allowed_remote_code(config)  # first: a run folder's own setting is not the user's consent
        device, bf16_ok = detect_device()
        precision = resolve_precision(config.precision, device, bf16_ok)
        check_quantization(config, device)
        if self._prepared is not None and REFERENCE_ADAPTER in getattr(self._prepared.model, "peft_config", {}):
            # TRL copies the adapter as the frozen reference when its trainer is built: after a pause or a
            # recovery the model in memory is the trained one, so start again from the run's starting point
            # (the checkpoint then restores the trained adapter)
            self._prepared = None
        if self._prepared is None:
            self._prepared = self._build(device, precision)
        recipe.ready_for_steps(config, self._prepared.model)
        if ranks.is_main():
            removed = remove_incomplete(self.checkpoints_dir)
            if removed:
                self.events.emit("notification", message=f"{', '.join(sorted(p.name for p in removed))} was cut "
                                 "short or damaged and was removed; training goes on from the newest complete "
                                 "checkpoint.")
        resume_from = latest_checkpoint(self.checkpoints_dir)
        trainer, self._callback = build_trainer(config, self.method, self._prepared, self.folder, self.events,
                                                self.controls, self._say_threads)
        self._say_stage("Training the first step (the time left shows after it)" if resume_from is None
                        else f"Resuming from {resume_from.name}")
        if resume_from is not None:
            restore_counters(trainer, self._callback, resume_from)
        return trainer, resume_from

    def _build(self, device: str, precision: str) -> recipe.Prepared:
        config, say = self.config, self._say_stage
        folder, tokenizer = recipe.find_model(config, say, progress=lambda message: self.events.emit(
            "notification", message=message, stage="preparing"))
        data = recipe.prepare_data(config, self.method, tokenizer, say)
        prepared = recipe.build_model(config, self.method, self.run_dir, folder, tokenizer, data, device, precision,
                                      say)
        self._write_run_info(data=prepared.data_summary())  # a fact of the run: the model card reads it
        packing = "per example" if prepared.segments else "rows" if config.packing else "off"
        self.events.emit("notification", message="Model and data ready", stage="ready",
                         base_eval_loss=prepared.base.get("base_eval_loss"), device=device, precision=precision,
                         packing=packing, **prepared.data_summary())
        return prepared

    def _say_threads(self, threads: int, others_busy_cores: float) -> None:
        from peftstudio.engine.training.cpu_threads import describe  # lazy: defers transformers

        self.events.emit("notification", message=describe(threads, others_busy_cores), stage="threads",
                         threads=threads, others_busy_cores=round(others_busy_cores, 2))

    def _finish(self, trainer) -> None:
        """Phase 6 (training/finish.py): rank 0 saves the adapter and records the version."""
        final_eval = finish.final_eval_loss(trainer, self.config, self._prepared)
        if not ranks.is_main():
            self._status = Status.COMPLETED
            return
        finish.save_whole(self.folder, self._prepared, self.config)
        self.summary = finish.summarize(trainer, self.method, self._prepared, self.folder, final_eval,
                                        self._callback.started_at, self._recommended_examples())
        version = finish.record_version(self.folder, self.config, self.summary)
        if version is None:  # a sweep's trial
            self._write_run_info(summary=self.summary)
        else:
            self.summary["version"] = f"{version['model_name']} v{version['version']}"
            # the version's record also lives in the run folder, so a lost or damaged store can be rebuilt
            self._write_run_info(summary=self.summary, version_record=versions_record(version))
            self.events.emit("version", model_name=version["model_name"], version=version["version"],
                             bump=version["bump"], size_bytes=version["size_bytes"])
        self._set_status(Status.COMPLETED, **self.summary)

    # ---- what the recipe holds (tests and benchmarks read them) -----------------------
    @property
    def model(self):
        return self._prepared.model if self._prepared is not None else None

    @property
    def tokenizer(self):
        return self._prepared.tokenizer if self._prepared is not None else None

    @property
    def data(self):
        return self._prepared.data if self._prepared is not None else None


def _is_out_of_memory(exc: BaseException) -> bool:
    """torch.cuda.OutOfMemoryError, MPS "out of memory" RuntimeErrors, and CPU MemoryError."""
    return isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError" or \
        "out of memory" in str(exc).lower()

