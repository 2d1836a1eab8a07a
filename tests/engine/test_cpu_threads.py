"""The CPU thread count follows the cores other programs leave free (measured with a real busy process)."""
import multiprocessing
import time

import pytest
import torch

from peftstudio.engine.training.cpu_threads import CpuThreadTuner, OtherLoad, describe, threads_for


@pytest.mark.parametrize("cores, others, expected", [
    (2, 0.0, 2), (2, 0.3, 2), (2, 0.6, 1), (2, 1.0, 1), (2, 3.5, 1), (8, 2.2, 6), (8, 0.0, 8), (1, 1.0, 1),
])
def test_one_thread_per_core_the_others_leave(cores, others, expected):
    assert threads_for(cores, others) == expected


def test_the_log_line_says_what_changed_and_why():
    assert describe(1, 1.04, 2) == ("Other programs are using about 1.0 of 2 processor cores: training uses 1 thread, "
                                    "so neither waits for the other.")
    assert describe(6, 2.2, 8).endswith("uses 6 threads, so neither waits for the other.")
    assert describe(2, 0.1, 2) == "Training uses all 2 processor cores."


def _spin(stop):
    while not stop.is_set():
        sum(range(10_000))


@pytest.fixture()
def one_busy_core():
    context = multiprocessing.get_context("spawn")  # no copy of this process's threads (torch, Qt)
    stop = context.Event()
    process = context.Process(target=_spin, args=(stop,), daemon=True)
    process.start()
    time.sleep(1.0)  # the child is up and spinning
    yield
    stop.set()
    process.join(10)


def test_another_programs_busy_core_is_measured_and_given_up(one_busy_core):
    load = OtherLoad()
    time.sleep(0.5)
    assert load.busy_cores() > 0.6  # the spinning child; this process sleeps and is not counted
    before = torch.get_num_threads()
    changes = []
    tuner = CpuThreadTuner(cores=2, on_change=lambda threads, others: changes.append((threads, others)))
    tuner.on_train_begin(None, None, None)
    try:
        assert tuner.threads == 1 and torch.get_num_threads() == 1
        assert changes and changes[0][0] == 1 and changes[0][1] > 0.6
    finally:
        tuner.on_train_end(None, None, None)
    assert torch.get_num_threads() == before  # what runs after training gets torch's count back


def test_this_process_own_work_is_not_counted_as_others():
    load = OtherLoad()
    time.sleep(0.5)
    background = load.busy_cores()  # whatever else the machine runs meanwhile
    end = time.monotonic() + 0.5
    while time.monotonic() < end:  # this process keeps one core busy
        sum(range(10_000))
    assert load.busy_cores() < background + 0.5
