"""The user's application settings (a JSON file in the data folder; no Qt here)."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields

from peftstudio.engine import atomic, paths


@dataclass
class AppSettings:
    electricity_price: float = 0.15  # per kWh, in the user's currency
    carbon_intensity: float = 0.4  # kg CO2 per kWh
    hf_token: str = ""  # optional; only sent to the Hugging Face hub
    theme: str = "system"  # system | light | dark
    notifications: bool = True
    evaluate_after_run: bool = True  # the scorecard (task + general skills, not the judge) when a run completes
    data_folder: str = ""  # empty: the platform default
    welcome_seen: bool = False  # the first-run welcome was shown


def settings_file():
    return paths.config_dir() / paths.SETTINGS_FILE


def load_settings() -> AppSettings:
    defaults = AppSettings()
    try:
        data = json.loads(settings_file().read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return defaults
    if not isinstance(data, dict):
        return defaults
    # a value of the wrong type (a hand edit) falls back to its default instead of breaking the app
    return AppSettings(**{f.name: data[f.name] for f in fields(AppSettings)
                          if f.name in data and _same_kind(data[f.name], getattr(defaults, f.name))})


def _same_kind(value, default) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float))
    return isinstance(value, type(default))


def save_settings(settings: AppSettings) -> None:
    """Write atomically; the file is created readable by its owner only (it may hold a token), never
    created world-readable first and restricted afterwards."""
    atomic.write_json(settings_file(), asdict(settings), private=True)
