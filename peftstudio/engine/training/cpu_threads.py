"""How many threads a CPU training run uses: the cores the rest of the machine leaves free.

torch starts one compute thread per physical core, and every operation waits for its slowest thread. When
another program keeps a core busy, the thread that shares that core runs at a fraction of its speed and holds
every other thread back: measured on a 2-core machine with one core busy, 2 threads trained at 54 tokens/s and
1 thread at 113. So before training and then every `CHECK_SECONDS` the tuner measures how much CPU the other
programs used (the whole machine's busy time less this process's own) and keeps one thread per core they leave.
A desktop user who keeps working while a model trains is the normal case, not an exception.
"""
from __future__ import annotations

import math
import time

import psutil
from transformers import TrainerCallback

CHECK_SECONDS = 10.0
FIRST_LOOK_SECONDS = 0.3


def threads_for(cores: int, others_busy_cores: float) -> int:
    """One thread per core the other programs leave free (a core at least half busy counts as taken)."""
    taken = math.floor(max(0.0, others_busy_cores) + 0.5)
    return max(1, min(cores, cores - taken))


def default_threads() -> int:
    """torch's own choice: one per physical core."""
    return psutil.cpu_count(logical=False) or psutil.cpu_count() or 1


def describe(threads: int, others_busy_cores: float, cores: int | None = None) -> str:
    """The run log's line when the count changes."""
    cores = cores or default_threads()
    if threads >= cores:
        return f"Training uses all {cores} processor cores."
    return (f"Other programs are using about {others_busy_cores:.1f} of {cores} processor cores: training uses "
            f"{threads} thread{'s' if threads != 1 else ''}, so neither waits for the other.")


class OtherLoad:
    """The CPU time the rest of the machine used since the last reading, in busy cores."""

    def __init__(self):
        self._process = psutil.Process()
        self._mark = self._readings()

    def _readings(self) -> tuple[float, float, float]:
        machine = psutil.cpu_times()
        busy = sum(machine) - machine.idle - getattr(machine, "iowait", 0.0)
        own = self._process.cpu_times()
        return time.monotonic(), busy, own.user + own.system

    def busy_cores(self) -> float:
        """Busy cores of other programs since the previous call (or since this object was made)."""
        then, busy_then, own_then = self._mark
        self._mark = now, busy_now, own_now = self._readings()
        elapsed = now - then
        if elapsed <= 0:
            return 0.0
        return max(0.0, (busy_now - busy_then) - (own_now - own_then)) / elapsed


class CpuThreadTuner(TrainerCallback):
    """Sets torch's thread count on the training thread at the start and at step ends, from the others' load."""

    def __init__(self, cores: int | None = None, check_seconds: float = CHECK_SECONDS, on_change=None):
        self.cores = cores or default_threads()
        self.check_seconds = check_seconds
        self.on_change = on_change  # called with (threads, others_busy_cores) when the count changes
        self.threads: int | None = None
        self._load: OtherLoad | None = None
        self._checked = 0.0
        self._before = 1

    def on_train_begin(self, args, state, control, **kwargs):
        import torch

        self._before = torch.get_num_threads()
        self.cores = min(self.cores, self._before)  # never above a count the user set (OMP_NUM_THREADS)
        self._load = OtherLoad()
        time.sleep(FIRST_LOOK_SECONDS)  # a short look at the machine before the first step
        self._apply(self._load.busy_cores())

    def on_step_end(self, args, state, control, **kwargs):
        if self._load is not None and time.monotonic() - self._checked >= self.check_seconds:
            self._apply(self._load.busy_cores())

    def on_train_end(self, args, state, control, **kwargs):
        import torch

        if self._load is not None:  # what runs after training on this thread gets torch's count back
            torch.set_num_threads(self._before)
            self._load, self.threads = None, None

    def _apply(self, others: float) -> None:
        import torch

        self._checked = time.monotonic()
        threads = threads_for(self.cores, others)
        if threads != self.threads:
            torch.set_num_threads(threads)
            # said when it differs from torch's own choice, and when it changes back
            if self.on_change is not None and (self.threads is not None or threads < self.cores):
                self.on_change(threads, others)
            self.threads = threads
