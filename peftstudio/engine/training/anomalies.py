"""Anomaly detection on the live metric stream, and the recovery plan for each anomaly.

Detectors (each gives an `Anomaly` with a plain explanation and 2-3 actions):
    loss_divergence      loss is NaN/inf, or above 3x the lowest loss so far, above the start and at least
                         MIN_RISE above the lowest (a continued, already fitted run wobbles between 0.001 and
                         0.01: three times more, yet nothing is being unlearned)
    gradient_explosion   grad norm above 10x the median of the previous ones (at least 3 seen)
    overfitting          validation loss rose at two evaluations in a row while training loss fell
    memory_leak          process memory grew at 20 readings in a row, by more than 25% in all
    oom                  device memory above 90% (Property 12), or an out-of-memory error
Recovery (bounded by MAX_RECOVERIES):
    loss_divergence      back to the last good checkpoint, learning rate halved
    gradient_explosion   clipping on or tightened (half the norm), learning rate halved, last checkpoint
    oom                  batch halved, accumulation doubled (same effective batch), gradient
                         checkpointing on, last checkpoint
    overfitting, memory_leak: suggestions only (the user decides)
"""
from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass, field, replace

from peftstudio.engine.config import TrainingConfig

MAX_RECOVERIES = 3
DEVICE_MEMORY_LIMIT = 0.9


@dataclass
class Anomaly:
    anomaly_type: str  # loss_divergence | gradient_explosion | overfitting | oom | memory_leak
    severity: str  # low | medium | high | critical
    message: str  # plain language: what is happening and why it matters
    step: int
    time: float
    actions: list[dict] = field(default_factory=list)  # {"id", "label", "automatic"}
    auto_recoverable: bool = False

    def to_event(self) -> dict:
        data = asdict(self)
        data["detected_step"], data["detected_time"] = data.pop("step"), data.pop("time")
        return data


EXPLANATIONS = {
    "loss_divergence": ("high", "The loss jumped far above where it was (or became not-a-number): the model is "
                        "unlearning. This usually means the learning rate is too high for this data.",
                        [("auto", "Go back to the last good checkpoint and halve the learning rate", True),
                         ("pause", "Pause and lower the learning rate yourself", False),
                         ("stop", "Stop the run and keep the last good checkpoint", False)], True),
    "gradient_explosion": ("high", "One update was far larger than the ones before it. Left alone, such jumps "
                           "can wreck what the model has learned.",
                           [("auto", "Clip updates more tightly and lower the learning rate", True),
                            ("pause", "Pause to look at the data around this step", False)], True),
    "overfitting": ("medium", "The model keeps getting better on its training examples but worse on examples it "
                    "has not seen: it is starting to memorise instead of learning.",
                    [("stop", "Stop now and keep the best checkpoint", False),
                     ("pause", "Pause, then add examples or raise dropout", False)], False),
    "memory_leak": ("medium", "Memory use has grown at every step for a while. If it keeps growing, the machine "
                    "will run out of memory.",
                    [("pause", "Pause and close other programs", False),
                     ("stop", "Stop and restart the run from its checkpoint", False)], False),
    "oom": ("critical", "The training device is (nearly) out of memory. PEFT Studio halves the batch and "
            "accumulates twice as many batches, so each update still sees the same number of examples.",
            [("auto", "Halve the batch size and turn on gradient checkpointing", True),
             ("pause", "Pause and close other programs using the GPU", False)], True),
}


def make_anomaly(kind: str, step: int, time: float, detail: str = "") -> Anomaly:
    severity, text, actions, auto = EXPLANATIONS[kind]
    if kind == "loss_divergence" and detail == "nan":
        severity = "critical"
    message = text + (f" ({detail})" if detail and detail != "nan" else "")
    return Anomaly(kind, severity, message, step, time,
                   [{"id": i, "label": label, "automatic": a} for i, label, a in actions], auto)


MIN_RISE = 0.1  # nats per token: a smaller rise is noise around a fitted model, not divergence


class AnomalyDetector:
    def __init__(self):
        self.losses: list[float] = []
        self.grad_norms: list[float] = []
        self.memory: list[float] = []
        self.evals: list[tuple[float, float]] = []  # (eval loss, train loss at that time)

    def observe_metrics(self, m: dict) -> list[Anomaly]:
        found, step, now = [], m.get("step", 0), m.get("time", 0.0)
        loss = m.get("loss")
        if loss is not None:
            if not math.isfinite(loss):
                found.append(make_anomaly("loss_divergence", step, now, "nan"))
            elif self.losses and loss > 3 * min(self.losses) and loss > self.losses[0] and \
                    loss - min(self.losses) > MIN_RISE:
                found.append(make_anomaly("loss_divergence", step, now, f"loss {loss:.3g}, lowest "
                                          f"{min(self.losses):.3g}"))
            if math.isfinite(loss):
                self.losses.append(loss)
        norm = m.get("grad_norm")
        if norm is not None and math.isfinite(norm):
            if len(self.grad_norms) >= 3 and norm > 10 * statistics.median(self.grad_norms):
                found.append(make_anomaly("gradient_explosion", step, now, f"update size {norm:.3g}, usually "
                                          f"{statistics.median(self.grad_norms):.3g}"))
            else:
                self.grad_norms.append(norm)
        used, total = m.get("gpu_memory_used") or [], m.get("gpu_memory_total") or []
        if used and total and max(u / t for u, t in zip(used, total) if t) > DEVICE_MEMORY_LIMIT:
            found.append(make_anomaly("oom", step, now, "GPU memory above 90%"))
        rss = m.get("process_rss")
        if rss:
            self.memory.append(rss)
            window = self.memory[-21:]
            if len(window) == 21 and all(b > a for a, b in zip(window, window[1:])) and window[-1] > 1.25 * window[0]:
                found.append(make_anomaly("memory_leak", step, now))
                self.memory = self.memory[-1:]
        return found

    def observe_eval(self, step: int, now: float, eval_loss: float) -> list[Anomaly]:
        train = self.losses[-1] if self.losses else math.nan
        self.evals.append((eval_loss, train))
        if len(self.evals) >= 3:
            (e1, t1), (e2, t2), (e3, t3) = self.evals[-3:]
            if e3 > e2 > e1 and t3 < t1:
                return [make_anomaly("overfitting", step, now)]
        return []


def recovery_plan(anomaly_type: str, config: TrainingConfig) -> tuple[TrainingConfig, float, str] | None:
    """(new config, learning-rate factor for the resumed scheduler, what was done), or None when manual."""
    if anomaly_type == "loss_divergence":
        return replace(config, learning_rate=config.learning_rate / 2), 0.5, \
            "Went back to the last good checkpoint and halved the learning rate."
    if anomaly_type == "gradient_explosion":
        clip = (config.max_grad_norm or 2.0) / 2
        return replace(config, learning_rate=config.learning_rate / 2, max_grad_norm=clip), 0.5, \
            f"Clipped updates to {clip:g} and halved the learning rate, from the last checkpoint."
    if anomaly_type == "oom":
        if config.batch_size <= 1:
            return None
        return replace(config, batch_size=config.batch_size // 2,
                       gradient_accumulation=config.gradient_accumulation * 2, gradient_checkpointing=True), 1.0, \
            (f"Halved the batch to {config.batch_size // 2} and doubled accumulation to "
             f"{config.gradient_accumulation * 2} (same effective batch), with gradient checkpointing on.")
    return None
