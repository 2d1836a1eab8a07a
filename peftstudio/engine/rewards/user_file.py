"""The user's own reward: a Python file defining `reward(prompt, completion, **row) -> float`.

It runs only with the user's consent for that file as it is now (engine/consent.py), and never in our process:
a child process (spawned, so it inherits nothing of a half-built model) imports the file and scores batches,
and a call that takes longer than the time limit kills the child. Whatever goes wrong (an exception, a hang, a
value that is not a number) ends in a plain error naming the row, and the run keeps its checkpoints.
Hand-written because no library runs untrusted scoring code with a per-call deadline.
"""
from __future__ import annotations

import math
import multiprocessing
from pathlib import Path

from peftstudio.engine.consent import has_code_consent, needs_code_consent
from peftstudio.engine.errors import PlainError

TIME_LIMIT_S = 10.0  # per call of reward(); generous for a parser or a unit test, short for a hang


def _serve(path: str, connection) -> None:
    """The child: import the file once, then score what the parent sends until it closes the pipe."""
    import importlib.util
    import traceback

    try:
        spec = importlib.util.spec_from_file_location("peftstudio_user_reward", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        function = getattr(module, "reward")
        if not callable(function):
            raise TypeError("'reward' is not a function")
    except BaseException as error:  # noqa: BLE001 - the user's code may raise anything; report it in words
        connection.send(("load-error", f"{type(error).__name__}: {error}", traceback.format_exc(limit=3)))
        return
    connection.send(("ready",))
    while True:
        try:
            batch = connection.recv()
        except EOFError:
            return
        scores = []
        for number, (prompt, completion, row) in batch:
            try:
                value = function(prompt, completion, **row)
            except BaseException as error:  # noqa: BLE001
                connection.send(("row-error", number, f"{type(error).__name__}: {error}"))
                break
            scores.append(value if isinstance(value, (int, float)) and not isinstance(value, bool) else
                          ("not-a-number", number, repr(value)[:80]))
        else:
            connection.send(("scores", scores))


class UserReward:
    """The user's reward file, running in its own process; call it with a batch, close it when done."""

    def __init__(self, path: str, time_limit_s: float = TIME_LIMIT_S):
        self.path = str(Path(path).expanduser().resolve())
        if not Path(self.path).is_file():
            raise PlainError(title="The reward file was not found", what=f"{path} does not exist.",
                             why="--reward-file must name a Python file defining reward(prompt, completion, **row).",
                             actions=["Check the path.", "Or use the built-in checkers."], help_topic="rewards")
        if not has_code_consent(self.path):
            raise needs_code_consent(self.path)
        self.time_limit_s = time_limit_s
        self._process = None
        self._connection = None

    def _start(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._connection, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(self.path, child), daemon=True)
        self._process.start()
        child.close()
        reply = self._receive(max(self.time_limit_s, 30.0), "loading the file")
        if reply[0] == "load-error":
            self.close()
            raise PlainError(
                title="Your reward file did not load",
                what=f"{Path(self.path).name}: {reply[1]}",
                why="The file must define a function reward(prompt, completion, **row) that returns a number.",
                actions=["Run the file with python to see the error in full.",
                         "Check that it defines reward(...) at the top level."],
                help_topic="rewards",
            )

    def _receive(self, seconds: float, doing: str):
        if not self._connection.poll(seconds):
            self.close()
            raise PlainError(
                title="Your reward took too long",
                what=f"{Path(self.path).name} did not finish {doing} within {seconds:g} seconds, so it was stopped.",
                why="A reward is called for every completion; one that hangs would stop training for good.",
                actions=["Make reward() faster, or check it for an endless loop or a network call.",
                         "The run kept its checkpoints: fix the file, then resume the run."],
                help_topic="rewards",
            )
        try:
            return self._connection.recv()
        except EOFError:
            self.close()
            raise PlainError(title="Your reward stopped unexpectedly",
                             what=f"{Path(self.path).name} ended its process while {doing}.",
                             why="The file's code exited or crashed Python (for example with sys.exit or os._exit).",
                             actions=["Run the file with python to see what happens.",
                                      "The run kept its checkpoints: fix the file, then resume the run."],
                             help_topic="rewards") from None

    def __call__(self, items: list[tuple[int, str, str, dict]]) -> list[float]:
        """Scores of (row number, prompt, completion, row) items, in order."""
        if self._process is None or not self._process.is_alive():
            self._start()
        self._connection.send([(number, (prompt, completion, row)) for number, prompt, completion, row in items])
        reply = self._receive(self.time_limit_s * max(1, len(items)), "scoring a batch")
        if reply[0] == "row-error":
            raise self._row_error(reply[1], f"it raised {reply[2]}")
        scores = []
        for value in reply[1]:
            if isinstance(value, tuple):
                raise self._row_error(value[1], f"it returned {value[2]}, not a number")
            if not math.isfinite(float(value)):
                raise self._row_error(items[len(scores)][0], f"it returned {value}")
            scores.append(float(value))
        return scores

    def _row_error(self, row_number: int, what: str) -> PlainError:
        return PlainError(
            title="Your reward failed on a row",
            what=f"{Path(self.path).name}, row {row_number} of the dataset: {what}.",
            why="Every completion needs a finite number as its reward (higher is better).",
            actions=["Fix reward() for that row (try it with python on the row's prompt).",
                     "The run kept its checkpoints: fix the file, then resume the run."],
            help_topic="rewards",
        )

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
        if self._process is not None and self._process.is_alive():
            self._process.kill()
            self._process.join(5)
        self._process = self._connection = None
