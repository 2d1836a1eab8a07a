"""RunFolder: one run's folder, the path of every file in it (names in runs/layout.py), its lock, and the only
writer of run.json and config.json.

Everything that reads a run's facts reads them here (`info()`, `config()`); everything that records one goes
through `update_info()`, which rewrites run.json atomically. The folder is stored absolute and resolved. The
store (history/) is an index of these folders and can always be rebuilt from them.
"""
from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import uuid
from datetime import datetime, timezone
from pathlib import Path

from peftstudio.engine import atomic
from peftstudio.engine.config import TrainingConfig
from peftstudio.engine.errors import PlainError
from peftstudio.engine.runs import layout
from peftstudio.engine.runs.index import read_run_info, remember_run_folder
from peftstudio.engine.runs.layout import CONFIG_FILE, INFO_FILE
from peftstudio.engine.runs.lock import RunLock, lock_run

DAMAGED_SUFFIX = ".damaged"  # a run.json that could not be read, kept beside the rebuilt one
CREATING = re.compile(r"^\..+\.creating-(?P<pid>\d+)$")  # a run folder being made (see create)


def not_a_run_folder(path: Path) -> PlainError:
    return PlainError(
        title="This is not a PEFT Studio run folder",
        what=f"{path} has no {CONFIG_FILE}.",
        why="Only folders created by 'peftstudio train' (or the app) can be resumed.",
        actions=["Check the folder path.", "List your runs with 'peftstudio runs list'."],
        help_topic="runs",
    )


def folder_taken(path: Path) -> PlainError:
    return PlainError(
        title="The run folder is not empty",
        what=f"{path} already holds files; PEFT Studio will not overwrite them.",
        why="Each run needs a folder of its own (another training may have just started there).",
        actions=["Choose another output folder.", "Resume the run in that folder with --resume instead."],
        help_topic="runs",
    )


class RunFolder:
    def __init__(self, path: str | Path):
        self.path = Path(path).expanduser().resolve()

    # ---- layout --------------------------------------------------------------------------------
    @property
    def id(self) -> str:
        return self.path.name

    @property
    def config_file(self) -> Path:
        return self.path / CONFIG_FILE

    @property
    def info_file(self) -> Path:
        return self.path / INFO_FILE

    @property
    def events_file(self) -> Path:
        return self.path / layout.EVENTS_FILE

    @property
    def checkpoints(self) -> Path:
        return self.path / layout.CHECKPOINTS_DIR

    @property
    def adapter(self) -> Path:
        return self.path / layout.ADAPTER_DIR

    @property
    def adapter_staging(self) -> Path:
        return self.path / layout.ADAPTER_STAGING_DIR

    @property
    def initial_adapter(self) -> Path:
        return self.path / layout.INITIAL_ADAPTER_DIR

    @property
    def conversion_scratch(self) -> Path:
        return self.path / layout.CONVERSION_DIR

    @property
    def feedback_file(self) -> Path:
        return self.path / layout.FEEDBACK_FILE

    @property
    def accelerate_config_file(self) -> Path:
        return self.path / layout.ACCELERATE_CONFIG_FILE

    @property
    def launch_script(self) -> Path:
        return self.path / layout.LAUNCH_SCRIPT_FILE

    @property
    def launch_log(self) -> Path:
        return self.path / layout.LAUNCH_LOG_FILE

    def has_adapter(self) -> bool:
        """True once a trained adapter has been saved whole (the adapter folder holds peft's description)."""
        return (self.adapter / layout.ADAPTER_CONFIG_FILE).is_file()

    def no_adapter(self, doing: str) -> PlainError:
        """Why there is no adapter to `doing` (chat with, export): a run still to finish, or one whose adapter
        was deleted after it completed."""
        if self.info().get("status") == "completed":
            return PlainError(
                title="The run's adapter is missing",
                what=f"{self.id} completed, but its adapter folder ({self.adapter}) is gone, so there is nothing to "
                     f"{doing}.",
                why="The adapter was deleted or moved after training (the run's settings and history are kept).",
                actions=["Put the adapter folder back from a backup, or from an export of this run.",
                         "Train the run again with the same settings: peftstudio train --config "
                         f"{self.config_file}"],
                help_topic="runs",
            )
        return PlainError(
            title="This run has no trained adapter yet",
            what=f"{self.id} has not finished training, so there is nothing to {doing}.",
            why="The adapter is written when a run completes.",
            actions=["Wait for the run to complete, or resume it.", "Pick a completed run."],
            help_topic="runs",
        )

    def is_run(self) -> bool:
        """True when the folder holds a run's config (it was made by RunFolder.create)."""
        return self.config_file.is_file()

    # ---- making and opening ------------------------------------------------------------------------
    @classmethod
    def create(cls, path: str | Path, config: TrainingConfig) -> "RunFolder":
        """A new run folder with its config.json and run.json; nothing is left behind if that fails."""
        folder = cls(path)
        if folder.path.exists() and not folder.path.is_dir():
            raise PlainError(
                title="The run folder's name is taken by a file",
                what=f"{folder.path} is a file, so PEFT Studio cannot make a run folder there.",
                why="Each run needs a folder of its own; the file was left as it is.",
                actions=["Choose another output folder.", "Leave --out away to get a new folder in the data folder."],
                help_topic="runs",
            )
        if folder.path.exists() and any(folder.path.iterdir()):
            raise folder_taken(folder.path)
        # built in a hidden folder and renamed into place: a process killed while creating it leaves no
        # half-made run folder (only the hidden one, removed by the next creation in the same place)
        made = [p for p in folder.path.parents if not p.exists()]
        folder.path.parent.mkdir(parents=True, exist_ok=True)
        atomic.remove_abandoned(folder.path.parent, CREATING)
        staging = folder.path.with_name(f".{folder.path.name}.creating-{os.getpid()}")
        staging.mkdir()
        try:
            atomic.write_text(staging / CONFIG_FILE, config.to_json())
            atomic.write_json(staging / INFO_FILE, {
                "id": folder.id, "uid": uuid.uuid4().hex, "folder": str(folder.path),
                "created": datetime.now(timezone.utc).isoformat(), "model_name": config.model_name,
                "dataset_path": config.dataset_path, "status": "created"}, sort_keys=True)
            try:
                if folder.path.exists():
                    folder.path.rmdir()  # the empty folder that was named for the run
                os.replace(staging, folder.path)
            except OSError as exc:
                if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                    raise
                raise folder_taken(folder.path) from None  # another training made it in the meantime
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)  # our own hidden folder, made just above
            for parent in made:
                with contextlib.suppress(OSError):
                    parent.rmdir()  # only if still empty
            raise
        remember_run_folder(folder.path)
        return folder

    @classmethod
    def open(cls, path: str | Path) -> "RunFolder":
        folder = cls(path)
        if not folder.is_run():
            raise not_a_run_folder(folder.path)
        return folder

    def lock(self) -> RunLock:
        return lock_run(self.path)

    # ---- reading -----------------------------------------------------------------------------------
    def config(self) -> TrainingConfig:
        return TrainingConfig.from_json(self.config_file.read_text(encoding="utf-8"))

    def config_fields(self) -> dict:
        """config.json as written (a dict, also keys an older or newer version knows); OSError/ValueError if
        it is missing or unreadable."""
        fields = json.loads(self.config_file.read_text(encoding="utf-8"))
        if not isinstance(fields, dict):
            raise ValueError(f"{self.config_file} does not hold a configuration")
        return fields

    def info(self) -> dict:
        """run.json as a dict ({} when it is missing or unreadable: the folder may predate it)."""
        return read_run_info(self.path)

    def info_problem(self) -> str | None:
        """Why run.json cannot be read (None when it can): missing, not JSON, or not an object."""
        try:
            info = json.loads(self.info_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return f"{INFO_FILE} is missing"
        except (OSError, ValueError) as exc:
            return f"{INFO_FILE} is not valid JSON ({str(exc).splitlines()[0][:120] if str(exc) else 'unreadable'})"
        return None if isinstance(info, dict) else f"{INFO_FILE} holds a {type(info).__name__}, not a run record"

    def readable_info(self) -> dict:
        """run.json as a dict; a PlainError saying so when it is damaged (where info() gives {})."""
        problem = self.info_problem()
        if problem is not None:
            raise PlainError(
                title="The run's record is damaged",
                what=f"In {self.path}, {problem}.",
                why=f"{INFO_FILE} holds the run's status and summary. Its settings ({CONFIG_FILE}) and training "
                    f"record ({layout.EVENTS_FILE}) are kept apart and are not affected.",
                actions=[f"Run 'peftstudio runs reindex': it rebuilds {INFO_FILE} from the settings and the "
                         f"training record, keeping the damaged file beside it as {INFO_FILE}{DAMAGED_SUFFIX}.",
                         f"Or put back {INFO_FILE} from a backup."],
                help_topic="runs",
            )
        return self.info()

    def rebuild_info(self) -> dict:
        """A new run.json from config.json and events.jsonl (the truth), the damaged one kept beside it;
        ValueError/OSError when the config cannot be read either (then nothing is changed)."""
        from peftstudio.engine.runs.events import read_events  # lazy: events imports little, but only this needs it

        fields = self.config_fields()
        events = read_events(self.events_file)
        statuses = [e for e in events if e.get("type") == "status" and isinstance(e.get("status"), str)]
        started = next((e["time"] for e in events if isinstance(e.get("time"), (int, float))), None)
        created = datetime.fromtimestamp(started if started is not None else self.config_file.stat().st_mtime,
                                         timezone.utc).isoformat()
        info = {"id": self.id, "uid": uuid.uuid4().hex, "folder": str(self.path), "created": created,
                "model_name": fields.get("model_name"), "dataset_path": fields.get("dataset_path"),
                "status": statuses[-1]["status"] if statuses else "created", "rebuilt_from_events": True}
        if statuses and statuses[-1]["status"] == "completed":  # the finished run's summary rides on that event
            info["summary"] = {k: v for k, v in statuses[-1].items() if k not in ("type", "time", "status")}
        if self.info_file.exists() or self.info_file.is_symlink():
            os.replace(self.info_file, self.info_file.with_name(INFO_FILE + DAMAGED_SUFFIX))
        atomic.write_json(self.info_file, info, sort_keys=True)
        return info

    @property
    def uid(self) -> str | None:
        return self.info().get("uid")

    def holds(self, run_id: str, uid: str | None) -> bool:
        """True only if this folder provably is that run: a real folder (not a link) whose run.json names the
        same run and, when known, the same unique id. Nothing is ever deleted on weaker evidence."""
        if self.path.is_symlink() or not self.path.is_dir():
            return False
        info = self.info()
        return info.get("id") == run_id and (not uid or info.get("uid") == uid)

    # ---- writing (the only writer of run.json and config.json) -----------------------------------
    def write_config(self, config: TrainingConfig) -> None:
        atomic.write_text(self.config_file, config.to_json())

    def update_info(self, **fields) -> dict:
        info = self.info()
        info.update(fields)
        info["id"], info["folder"] = self.id, str(self.path)
        atomic.write_json(self.info_file, info, sort_keys=True)
        return info

    def record_export(self, entry: dict) -> None:
        self.update_info(exports=[*self.info().get("exports", []), entry])
