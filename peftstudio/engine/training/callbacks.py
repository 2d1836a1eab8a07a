"""Trainer callbacks that turn the Trainer's life into our events and honour pause/stop."""
from __future__ import annotations

import math
import threading
import time

from transformers import TrainerCallback

from peftstudio.engine.resources import resource_readings
from peftstudio.engine.runs import ranks
from peftstudio.engine.training import distributed
from peftstudio.engine.training.anomalies import AnomalyDetector
from peftstudio.engine.runs.checkpoints import checkpoint_path, mark_complete
from peftstudio.engine.runs.events import EventLog

HEARTBEAT_SECONDS = 2.0


class Controls:
    """Requests from another thread (GUI, signal handler): honoured at the next step boundary."""

    def __init__(self):
        self.pause_requested = threading.Event()
        self.stop_requested = threading.Event()

    def clear(self):
        self.pause_requested.clear()
        self.stop_requested.clear()


class SessionCallback(TrainerCallback):
    def __init__(self, events: EventLog, controls: Controls, trainer_ref, started_at: float, run_dir=None):
        self.events = events
        self.run_dir = run_dir  # where a launcher's control file appears
        self.controls = controls
        self.trainer_ref = trainer_ref  # callable returning the trainer (it is built after us)
        self.started_at = started_at
        self.last_metrics: dict = {}
        self._last_emit = 0.0
        self._window_start = time.perf_counter()
        self._window_tokens = 0
        self._window_examples = 0

        self.detector = AnomalyDetector()
        self.recovery_request = None  # an auto-recoverable Anomaly: the session recovers after the loop ends
        self._heartbeat_stop = threading.Event()
        self._heartbeat: threading.Thread | None = None
        self._lock = threading.Lock()

    # ---- lifecycle ------------------------------------------------------------------
    def on_train_begin(self, args, state, control, **kwargs):
        trainer = self.trainer_ref()
        self._window_start = time.perf_counter()
        self._window_tokens = trainer.loss_tokens_seen
        self._window_examples = trainer.examples_seen
        self._heartbeat_stop.clear()
        self._heartbeat = threading.Thread(target=self._beat, name="metrics-heartbeat", daemon=True)
        self._heartbeat.start()

    def on_train_end(self, args, state, control, **kwargs):
        self.stop_heartbeat()

    def stop_heartbeat(self):
        self._heartbeat_stop.set()
        if self._heartbeat is not None and self._heartbeat is not threading.current_thread():
            self._heartbeat.join(timeout=5)

    def on_step_end(self, args, state, control, **kwargs):
        return self._honour_requests(control)

    def _honour_requests(self, control):
        """Pause and stop both checkpoint everything, then leave the loop after this step.

        Requests come from this process (GUI thread, signal) or from the run folder's control file
        (a launcher in another process); under a multi-process launch rank 0 decides for every rank.
        """
        action = "stop" if self.controls.stop_requested.is_set() else \
            "pause" if self.controls.pause_requested.is_set() else None
        if action is None and self.run_dir is not None and ranks.is_main():
            action = ranks.requested(self.run_dir)
        action = distributed.agree(action)
        if action == "pause":
            self.controls.pause_requested.set()
        elif action == "stop":
            self.controls.stop_requested.set()
        if self.controls.pause_requested.is_set() or self.controls.stop_requested.is_set():
            control.should_save = True
            control.should_training_stop = True
        return control

    # ---- metrics --------------------------------------------------------------------
    def on_log(self, args, state, control, logs=None, **kwargs):
        logs = logs or {}
        if "eval_loss" in logs:
            loss = float(logs["eval_loss"])
            event = self.events.emit("eval", step=state.global_step, eval_loss=loss,
                                     perplexity=math.exp(loss) if loss < 50 else float("inf"))
            self._anomalies(self.detector.observe_eval(state.global_step, event["time"], loss), control)
        if "loss" not in logs:
            return control
        trainer = self.trainer_ref()
        now = time.perf_counter()
        elapsed = max(now - self._window_start, 1e-9)
        tokens = trainer.loss_tokens_seen - self._window_tokens
        examples = trainer.examples_seen - self._window_examples
        self._window_start, self._window_tokens, self._window_examples = \
            now, trainer.loss_tokens_seen, trainer.examples_seen
        metrics = {
            "step": state.global_step, "max_steps": state.max_steps, "epoch": state.epoch,
            "loss": float(logs["loss"]), "learning_rate": logs.get("learning_rate"),
            "grad_norm": logs.get("grad_norm"),
            "tokens_per_second": tokens / elapsed, "samples_per_second": examples / elapsed,
            "steps_per_second": args.logging_steps / elapsed,
            "train_tokens": trainer.loss_tokens_seen, "input_tokens": trainer.input_tokens_seen,
        }
        # preference runs (TRL): how far apart the chosen and rejected answers are, and how often the right one wins
        for ours, theirs in (("reward_margin", "rewards/margins"), ("preference_accuracy", "rewards/accuracies")):
            if logs.get(theirs) is not None:
                metrics[ours] = float(logs[theirs])
        # GRPO runs (TRL): the mean reward and its spread, each reward's mean, the distance from the base model
        for ours, theirs in (("reward", "reward"), ("reward_std", "reward_std"), ("kl", "kl"),
                             ("completion_length", "completions/mean_length"),
                             ("reward_zero_spread", "frac_reward_zero_std")):
            if logs.get(theirs) is not None:
                metrics[ours] = float(logs[theirs])
        by_reward = {key[len("rewards/"):-len("/mean")]: float(value) for key, value in logs.items()
                     if key.startswith("rewards/") and key.endswith("/mean") and value is not None}
        if by_reward:
            metrics["rewards"] = by_reward
        with self._lock:
            self.last_metrics = metrics
        event = self._emit_metrics(metrics)
        self._anomalies(self.detector.observe_metrics(event), control)
        # a listener may have asked for a pause on seeing this step: save it now, not one step later
        return self._honour_requests(control)

    def _emit_metrics(self, metrics: dict, heartbeat: bool = False):
        elapsed = time.time() - self.started_at
        step, max_steps = metrics.get("step", 0), metrics.get("max_steps") or 0
        eta = elapsed / step * (max_steps - step) if step and max_steps else None
        self._last_emit = time.perf_counter()
        return self.events.emit("metrics", **metrics, **resource_readings(), elapsed_seconds=elapsed,
                                eta_seconds=eta, heartbeat=heartbeat)

    def _anomalies(self, found, control) -> None:
        for anomaly in found:
            self.events.emit("anomaly", **anomaly.to_event())
            if anomaly.auto_recoverable and self.recovery_request is None:
                self.recovery_request = anomaly
                control.should_training_stop = True
                control.should_save = False  # never checkpoint a model that just went wrong

    def _beat(self):
        while not self._heartbeat_stop.wait(0.25):
            if time.perf_counter() - self._last_emit >= HEARTBEAT_SECONDS:
                with self._lock:
                    metrics = dict(self.last_metrics)
                if not metrics:
                    state = self.trainer_ref().state
                    metrics = {"step": state.global_step, "max_steps": state.max_steps, "epoch": state.epoch,
                               "loss": None, "learning_rate": None, "grad_norm": None,
                               "tokens_per_second": None, "samples_per_second": None, "steps_per_second": None,
                               "train_tokens": self.trainer_ref().loss_tokens_seen,
                               "input_tokens": self.trainer_ref().input_tokens_seen}
                self._emit_metrics(metrics, heartbeat=True)

    # ---- checkpoints ----------------------------------------------------------------
    def on_save(self, args, state, control, **kwargs):
        checkpoint = checkpoint_path(args.output_dir, state.global_step)
        distributed.barrier()  # every rank has written its part (RNG state) before the checkpoint is complete
        if not checkpoint.exists() or not ranks.is_main():
            return
        trainer = self.trainer_ref()
        with self._lock:
            metrics = dict(self.last_metrics)
        mark_complete(checkpoint, {"step": state.global_step, "epoch": state.epoch, "metrics": metrics,
                                   "loss_tokens_seen": trainer.loss_tokens_seen,
                                   "input_tokens_seen": trainer.input_tokens_seen,
                                   "examples_seen": trainer.examples_seen,
                                   "elapsed_seconds": time.time() - self.started_at})
        self.events.emit("checkpoint", step=state.global_step, path=str(checkpoint),
                         reason="pause" if self.controls.pause_requested.is_set() else "schedule")
