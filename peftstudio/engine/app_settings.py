"""The user's application settings (a JSON file in the data folder; no Qt here)."""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields

from peftstudio.engine import paths


@dataclass
class AppSettings:
    electricity_price: float = 0.15  # per kWh, in the user's currency
    carbon_intensity: float = 0.4  # kg CO2 per kWh
    hf_token: str = ""  # optional; only sent to the Hugging Face hub
    theme: str = "system"  # system | light | dark
    notifications: bool = True
    data_folder: str = ""  # empty: the platform default
    welcome_seen: bool = False  # the first-run welcome was shown


def settings_file():
    return paths.config_dir() / "settings.json"


def load_settings() -> AppSettings:
    try:
        data = json.loads(settings_file().read_text(encoding="utf-8"))
        known = {f.name for f in fields(AppSettings)}
        return AppSettings(**{k: v for k, v in data.items() if k in known})
    except (OSError, ValueError, TypeError):
        return AppSettings()


def save_settings(settings: AppSettings) -> None:
    path = settings_file()
    tmp = path.with_name(path.name + f".tmp-{os.getpid()}")
    tmp.write_text(json.dumps(asdict(settings), indent=2), encoding="utf-8")
    if os.name == "posix":
        os.chmod(tmp, 0o600)  # it may hold a token
    os.replace(tmp, path)
