"""Hand an export over to the app that will run it: `ollama create` (then one probe prompt) or `lms import`.

Only when the app's command is on PATH; otherwise the export's README instructions stay the way in.
The commands run with the export folder as working directory, with a timeout, and their output is
kept for the report; a failure is a plain error quoting the app's own last words.
"""
from __future__ import annotations

import shutil
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path

from peftstudio.engine.errors import PlainError
from peftstudio.engine.export.verify import PROMPT

CREATE_TIMEOUT_S = 900   # ollama copies the GGUF into its store: minutes for a large file
PROBE_TIMEOUT_S = 300


@dataclass
class HandOver:
    app: str
    model: str
    commands: list[list[str]] = field(default_factory=list)
    probe_prompt: str | None = None
    probe_answer: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def app_for(fmt: str) -> str | None:
    """"ollama" or "lms" when the export's app has its command on PATH, else None."""
    command = {"ollama": "ollama", "lmstudio": "lms"}.get(fmt)
    return command if command and shutil.which(command) else None


def _run(command: list[str], folder: Path, timeout: int, app: str) -> str:
    try:
        done = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise _failed(app, command, f"it did not finish within {timeout // 60} minutes") from None
    except OSError as exc:
        raise _failed(app, command, str(exc)) from None
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise _failed(app, command, " ".join(last) or f"exit status {done.returncode}")
    return done.stdout


def _failed(app: str, command: list[str], detail: str) -> PlainError:
    name = {"ollama": "Ollama", "lms": "LM Studio"}[app]
    return PlainError(
        title=f"The model could not be added to {name}",
        what=f"`{' '.join(command)}` failed: {detail}",
        why=f"{name} refused the file or is not running; the export itself is complete and verified.",
        actions=[f"Start {name} and try again.",
                 "Follow the README.md in the export folder to add the model by hand."],
        help_topic="export",
    )


def add_to_ollama(folder: Path, model_name: str, probe: bool = True) -> HandOver:
    """`ollama create NAME -f Modelfile` in the export folder, then `ollama run NAME PROMPT` as a probe."""
    folder = Path(folder)
    create = ["ollama", "create", model_name, "-f", "Modelfile"]
    _run(create, folder, CREATE_TIMEOUT_S, "ollama")
    result = HandOver("ollama", model_name, [create])
    if probe:
        ask = ["ollama", "run", model_name, PROMPT]
        result.probe_answer = _run(ask, folder, PROBE_TIMEOUT_S, "ollama").strip()
        result.probe_prompt = PROMPT
        result.commands.append(ask)
    return result


def add_to_lm_studio(folder: Path, publisher: str, model_name: str) -> HandOver:
    """`lms import FILE --copy --yes --user-repo publisher/model`: LM Studio keeps its own copy."""
    folder = Path(folder)
    files = sorted(folder.glob(f"{publisher}/{model_name}/*.gguf"))
    if not files:
        raise _failed("lms", ["lms", "import"], "the export folder holds no GGUF file in the LM Studio layout")
    command = ["lms", "import", str(files[0].relative_to(folder)), "--copy", "--yes", "--user-repo",
               f"{publisher}/{model_name}"]
    _run(command, folder, CREATE_TIMEOUT_S, "lms")
    return HandOver("lms", f"{publisher}/{model_name}", [command])


def hand_over(folder: Path, fmt: str, model_name: str, publisher: str = "peftstudio") -> HandOver:
    app = app_for(fmt)
    if app == "ollama":
        return add_to_ollama(folder, model_name)
    if app == "lms":
        return add_to_lm_studio(folder, publisher, model_name)
    name = {"ollama": "Ollama", "lmstudio": "LM Studio"}.get(fmt, fmt)
    command = {"ollama": "ollama", "lmstudio": "lms"}.get(fmt, fmt)
    raise PlainError(
        title=f"{name} was not found on this machine",
        what=f"The `{command}` command is not on PATH.",
        why=f"PEFT Studio adds the model with {name}'s own command line tool.",
        actions=[f"Install {name} (and, for LM Studio, run `lms bootstrap` once), then try again.",
                 "Follow the README.md in the export folder to add the model by hand."],
        help_topic="export",
    )
