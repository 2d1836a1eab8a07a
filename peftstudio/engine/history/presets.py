"""Presets: a whole wizard configuration saved under a name and loaded back identically.

A preset holds the TrainingConfig (every hyperparameter, the dataset path and the model) and the
use-case profile id. Stored as JSON files in the data folder; the SQLite store indexes them later.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from peftstudio.engine import atomic, paths
from peftstudio.engine.config import TrainingConfig
from peftstudio.engine.errors import PlainError
from peftstudio.engine.history.store import default_store


@dataclass
class Preset:
    name: str
    profile_id: str
    config: TrainingConfig

    def to_dict(self) -> dict:
        return {"name": self.name, "profile_id": self.profile_id, "config": self.config.to_dict()}

    @classmethod
    def from_dict(cls, data: dict) -> "Preset":
        return cls(data["name"], data["profile_id"], TrainingConfig.from_dict(data["config"]))


def presets_dir() -> Path:
    folder = paths.data_dir() / "presets"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _file_for(name: str) -> Path:
    """A safe file name for any preset name: a readable slug plus a hash, so no two names collide."""
    if not name.strip():
        raise PlainError(
            title="The preset needs a name",
            what="The preset name is empty.",
            why="The name is used to find the preset again.",
            actions=["Type a short name such as 'support bot v2'.", "Cancel to keep working without saving."],
            help_topic="settings",
        )
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name.strip()).strip("-.")[:60] or "preset"
    digest = hashlib.sha1(name.strip().encode("utf-8")).hexdigest()[:8]
    return presets_dir() / f"{slug}-{digest}.json"


def save_preset(preset: Preset) -> Path:
    path = atomic.write_json(_file_for(preset.name), preset.to_dict(), sort_keys=True)

    default_store().index_preset(preset.name, preset.profile_id, preset.config.to_dict())
    return path


def load_preset(name: str) -> Preset:
    path = _file_for(name)
    if not path.exists():
        raise PlainError(
            title="Preset not found",
            what=f"There is no preset called '{name}'.",
            why="It may have been deleted, or saved in another data folder.",
            actions=["Pick one of the saved presets.", "Save the current settings as a new preset."],
            help_topic="settings",
        )
    return Preset.from_dict(json.loads(path.read_text(encoding="utf-8")))


def list_presets() -> list[str]:
    names = []
    for file in sorted(presets_dir().glob("*.json")):
        try:
            names.append(json.loads(file.read_text(encoding="utf-8"))["name"])
        except (ValueError, KeyError):
            continue
    return names
