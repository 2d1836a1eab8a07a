"""Anomaly detection on the live metric stream, and the recovery plan for each anomaly.

Detectors (each gives an `Anomaly` with a plain explanation and 2-3 actions):
    loss_divergence      loss is NaN/inf, or above 3x the lowest loss so far, above the start and at least
                         MIN_RISE above the lowest (a continued, already fitted run wobbles between 0.001 and
                         0.01: three times more, yet nothing is being unlearned)
    gradient_explosion   grad norm above 10x the median of the previous ones (at least 3 seen)
    overfitting          validation loss rose at two evaluations in a row while training loss fell
    memory_leak          process memory grew at 20 readings in a row, by more than 25% in all
    oom                  device memory above 90% (Property 12), or an out-of-memory error
  GRPO runs (their metrics carry a reward; their loss is a policy objective near 0, so only a NaN loss counts):
    reward_collapse      the mean reward of the last 3 steps fell below half of the best 3-step mean so far, by
                         at least MIN_REWARD_DROP: the model found a way to lose what it had learned
    kl_blowup            the KL from the base model above KL_LIMIT and 10x its median so far: the model is
                         drifting far from where it started (answers often turn to gibberish next)
    no_learning_signal   every prompt's answers got the same score at NO_SIGNAL_STEPS logged steps in a row:
                         GRPO learns nothing from such steps
Recovery (bounded by MAX_RECOVERIES):
    loss_divergence      back to the last good checkpoint, learning rate halved
    gradient_explosion   clipping on or tightened (half the norm), learning rate halved, last checkpoint
    oom                  batch halved, accumulation doubled (same effective batch), gradient
                         checkpointing on, last checkpoint
    reward_collapse      back to the last good checkpoint, learning rate halved
    kl_blowup            back to the last good checkpoint, learning rate halved, KL beta doubled (held nearer)
    overfitting, memory_leak, no_learning_signal: suggestions only (the user decides)
"""
from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass, field, replace

from peftstudio.engine.config import TrainingConfig

MAX_RECOVERIES = 3
DEVICE_MEMORY_LIMIT = 0.9
MIN_REWARD_DROP = 0.2  # in reward units (a checker scores 0..1): smaller falls are the noise of sampled answers
KL_LIMIT = 1.0  # nats per token; healthy GRPO runs stay around 0.001-0.1
NO_SIGNAL_STEPS = 5
ZERO_SPREAD = 0.999  # the share of prompts whose answers all scored the same


@dataclass
class Anomaly:
    anomaly_type: str  # a key of EXPLANATIONS
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
    "reward_collapse": ("high", "The reward fell far below its best: the model is losing the skill it had "
                        "learned. This usually means the learning rate is too high.",
                        [("auto", "Go back to the last good checkpoint and halve the learning rate", True),
                         ("stop", "Stop the run and keep the last good checkpoint", False)], True),
    "kl_blowup": ("high", "The model is drifting far from where it started (the KL distance jumped). Its answers "
                  "may soon stop making sense.",
                  [("auto", "Go back to the last good checkpoint, halve the learning rate and hold the model "
                            "nearer its start", True),
                   ("pause", "Pause and lower the learning rate yourself", False)], True),
    "no_learning_signal": ("medium", "Every answer to each prompt gets the same score, so there is nothing to learn "
                           "from: GRPO learns only from answers that score differently.",
                           [("pause", "Pause, then use a checker with partial credit or more answers per prompt",
                             False),
                            ("stop", "Stop the run", False)], False),
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
        self.rewards: list[float] = []
        self.kls: list[float] = []
        self.zero_spread_steps = 0

    def observe_metrics(self, m: dict) -> list[Anomaly]:
        found, step, now = [], m.get("step", 0), m.get("time", 0.0)
        loss, grpo = m.get("loss"), m.get("reward") is not None
        if grpo:
            found += self._observe_rewards(m, step, now)
        if loss is not None:
            if not math.isfinite(loss):
                found.append(make_anomaly("loss_divergence", step, now, "nan"))
            elif not grpo and self.losses and loss > 3 * min(self.losses) and loss > self.losses[0] and \
                    loss - min(self.losses) > MIN_RISE:
                found.append(make_anomaly("loss_divergence", step, now, f"loss {loss:.3g}, lowest "
                                          f"{min(self.losses):.3g}"))
            if math.isfinite(loss):
                self.losses.append(loss)
        norm = m.get("grad_norm")
        # a GRPO step whose answers all scored alike within each prompt has nothing to learn: its update is the KL
        # term's alone (near 0), not a size to compare with; counted, the next real update would look like an
        # explosion. Such steps (and any zero update) are left out of the history.
        flat = grpo and (m.get("reward_zero_spread") or 0.0) >= 1.0
        if norm is not None and math.isfinite(norm) and norm > 0 and not flat:
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

    def _observe_rewards(self, m: dict, step: int, now: float) -> list[Anomaly]:
        found = []
        reward, kl = m["reward"], m.get("kl")
        if math.isfinite(reward):
            self.rewards.append(reward)
        if len(self.rewards) >= 4:
            windows = [statistics.fmean(self.rewards[i - 3:i]) for i in range(3, len(self.rewards) + 1)]
            best, now_mean = max(windows[:-1]), windows[-1]
            if now_mean < best / 2 and best - now_mean >= MIN_REWARD_DROP:
                found.append(make_anomaly("reward_collapse", step, now, f"reward {now_mean:.2f}, best {best:.2f}"))
                self.rewards = self.rewards[-1:]  # said once per fall
        if kl is not None and math.isfinite(kl):
            if len(self.kls) >= 3 and kl > KL_LIMIT and kl > 10 * statistics.median(self.kls):
                found.append(make_anomaly("kl_blowup", step, now, f"KL {kl:.3g}, usually "
                                          f"{statistics.median(self.kls):.3g}"))
            else:
                self.kls.append(kl)
        spread = m.get("reward_zero_spread")
        self.zero_spread_steps = self.zero_spread_steps + 1 if spread is not None and spread >= ZERO_SPREAD else 0
        if self.zero_spread_steps == NO_SIGNAL_STEPS:
            found.append(make_anomaly("no_learning_signal", step, now))
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
    if anomaly_type in ("loss_divergence", "reward_collapse"):
        return replace(config, learning_rate=config.learning_rate / 2), 0.5, \
            "Went back to the last good checkpoint and halved the learning rate."
    if anomaly_type == "kl_blowup":
        beta = min(1.0, max(config.kl_beta * 2, 0.04))
        return replace(config, learning_rate=config.learning_rate / 2, kl_beta=beta), 0.5, \
            f"Went back to the last good checkpoint, halved the learning rate and set the KL beta to {beta:g}."
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
