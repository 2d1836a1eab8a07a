"""One owner per run folder: an operating-system lock on `<run>/.lock`, held for the life of the process.

The lock is the kernel's (flock on POSIX, a byte-range lock on Windows), so a crashed or killed process
releases it at once and there is never a stale lock to clean up. A second process that opens the same
run gets a plain "this run is open in another window or process" instead of training into it twice.

Inside one process the lock is shared (counted): the GUI reads a run it is training, and the processes
started by `training/launcher.start` follow their parent's lock instead of taking their own. Two trainings of one
folder inside one process are refused separately (`claim_training`).
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

from peftstudio.engine.errors import PlainError
from peftstudio.engine.runs.layout import LOCK_FILE

_guard = threading.Lock()
_held: dict[str, list] = {}  # resolved run folder -> [file descriptor, holders]
_training: set[str] = set()


def run_in_use(run_dir: Path) -> PlainError:
    return PlainError(
        title="This run is open in another window or process",
        what=f"{run_dir} is being used by another PEFT Studio window or command right now.",
        why="Two programs training the same run at once would write its checkpoints and history twice.",
        actions=["Switch to the window or terminal that has it open, or wait until it finishes.",
                 "Start a new run instead; it gets a folder of its own."],
        help_topic="runs",
    )


def _try_lock(fd: int) -> bool:
    if os.name == "nt":
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


class RunLock:
    """A held lock on one run folder; `release()` is safe to call more than once."""

    def __init__(self, key: str):
        self.key = key
        self.released = False

    def release(self) -> None:
        with _guard:
            if self.released:
                return
            self.released = True
            entry = _held.get(self.key)
            if entry is None:
                return
            entry[1] -= 1
            if entry[1] <= 0:
                del _held[self.key]
                os.close(entry[0])  # closing the descriptor releases the kernel lock


def lock_run(run_dir: Path) -> RunLock:
    """Take (or share, inside this process) the run folder's lock; a PlainError if another process has it."""
    key = str(Path(run_dir).resolve())
    with _guard:
        entry = _held.get(key)
        if entry is not None:
            entry[1] += 1
            return RunLock(key)
        fd = os.open(os.path.join(key, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o644)
        if not _try_lock(fd):
            os.close(fd)
            raise run_in_use(Path(key))
        _held[key] = [fd, 1]
        return RunLock(key)


def is_locked_elsewhere(run_dir: Path) -> bool:
    """True when another process holds the run's lock (this process's own lock does not count)."""
    key = str(Path(run_dir).resolve())
    with _guard:
        if key in _held:
            return False
    path = os.path.join(key, LOCK_FILE)
    if not os.path.exists(path):
        return False
    fd = os.open(path, os.O_RDWR)
    try:
        if not _try_lock(fd):
            return True
        return False
    finally:
        os.close(fd)  # also drops the lock just taken


def claim_training(run_dir: Path) -> None:
    """Refuse a second training of the same folder inside this process (another window of the app)."""
    key = str(Path(run_dir).resolve())
    with _guard:
        if key in _training:
            raise run_in_use(Path(key))
        _training.add(key)


def training_here(run_dir: Path) -> bool:
    """True while this process trains the run (its RUNNING status is live, not left by a crash)."""
    with _guard:
        return str(Path(run_dir).resolve()) in _training


def end_training(run_dir: Path) -> None:
    with _guard:
        _training.discard(str(Path(run_dir).resolve()))


LIVE_STATUSES = ("initializing", "running")


def live_status(run_dir: Path, recorded: str | None) -> str | None:
    """The status to show for a run: as recorded, except that a run recorded as starting or running whose
    lock no process holds was ended without a word (killed, crashed, power cut): "interrupted". It is only
    shown; the next open records it as failed (training/session.py)."""
    if recorded not in LIVE_STATUSES:
        return recorded
    try:
        if training_here(run_dir) or is_locked_elsewhere(run_dir):
            return recorded
    except OSError:
        return recorded  # a folder we may not open: say what it says
    return "interrupted"
