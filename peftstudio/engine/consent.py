"""Consent to run a model's own Python code (`trust_remote_code`), remembered per model, never per folder.

A run folder is data: a `"trust_remote_code": true` in its config.json may have been written by anyone, so
it only asks for code to run; the user's answer, kept in the settings folder, decides. Consent is given
explicitly (`peftstudio train --trust-remote-code`, or the app's question) for one model at a time.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from peftstudio.engine import atomic, paths
from peftstudio.engine.errors import PlainError

CONSENT_FILE = "trusted-model-code.json"


def model_key(ref: str) -> str:
    """A hub id as written; a local folder or file by its absolute path (another folder is another model)."""
    ref = (ref or "").strip()
    path = Path(ref).expanduser()
    return str(path.resolve()) if path.exists() or ref.startswith((".", "/", "~")) else ref


def _read() -> dict:
    try:
        data = json.loads((paths.config_dir() / CONSENT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def has_consent(model_ref: str) -> bool:
    entry = _read().get(model_key(model_ref))
    return isinstance(entry, dict) and entry.get("allowed") is True


def grant(model_ref: str) -> None:
    data = _read()
    data[model_key(model_ref)] = {"allowed": True, "at": datetime.now(timezone.utc).isoformat()}
    atomic.write_json(paths.config_dir() / CONSENT_FILE, data, private=True)


def needs_consent(model_ref: str) -> PlainError:
    return PlainError(
        title="This run wants to run the model's own code",
        what=f"The run's settings ask to run Python code shipped with {model_ref}, and you have not allowed "
             "that for this model.",
        why="Code shipped with a model can do anything your user account can. A setting in a run folder is not "
            "your permission: anyone could have written it.",
        actions=["If you trust the model's authors, allow it once: peftstudio train --resume RUN --trust-remote-code",
                 "Otherwise pick a model that transformers supports directly (Llama, Qwen, Mistral, Gemma, Phi...)."],
        help_topic="models",
    )


def allowed_remote_code(config) -> bool:
    """What to pass as `trust_remote_code`: False unless the config asks for it and the user consented."""
    if config.trust_remote_code is not True:
        return False
    model = config.model_path or config.model_name
    if not has_consent(model):
        raise needs_consent(model)
    return True


# ---- the user's own reward file (GRPO): consent per file *and* content, so an edited file asks again ------
def code_key(path: str | Path) -> str:
    import hashlib

    file = Path(path).expanduser().resolve()
    return f"reward-file:{file}:{hashlib.sha256(file.read_bytes()).hexdigest()}"


def has_code_consent(path: str | Path) -> bool:
    try:
        entry = _read().get(code_key(path))
    except OSError:
        return False
    return isinstance(entry, dict) and entry.get("allowed") is True


def grant_code(path: str | Path) -> None:
    data = _read()
    data[code_key(path)] = {"allowed": True, "at": datetime.now(timezone.utc).isoformat()}
    atomic.write_json(paths.config_dir() / CONSENT_FILE, data, private=True)


def needs_code_consent(path: str | Path) -> PlainError:
    return PlainError(
        title="Run your own reward code?",
        what=f"The run's rewards include Python code from {path}, and you have not allowed this file (as it is "
             "now) to run.",
        why="A reward file is a program: it can do anything your user account can. A run folder's settings are "
            "not your permission, and an edited file needs your permission again.",
        actions=["If you wrote or checked the file, allow it: add --trust-reward-file to the command.",
                 "In the app, answer Yes when it asks about this file.",
                 "Or use only the built-in checkers (exact, contains, number, math, json, regex, length, format)."],
        help_topic="rewards",
    )
