"""The user's application settings (a JSON file in the config folder; no Qt here).

Each setting is declared once, as the training settings are (engine/settings.py): the settings dialog builds its
form from these declarations, the planner and `peftstudio plan` take the electricity price and carbon intensity
(and their help) from here.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from peftstudio.engine import atomic, paths
from peftstudio.engine.settings import declare, settings_of


@dataclass
class AppSettings:
    data_folder: str = declare(
        "", "Data folder", "text", "Where runs, presets and the history are kept. Takes effect at the next start.",
        "a folder path, or empty for the platform's data folder", allow_empty=True,
        none_label="default (platform data folder)")
    electricity_price: float = declare(
        0.15, "Electricity price per kWh", "float",
        "What one kWh of electricity costs you, in your currency; used for cost estimates.",
        "a price from 0 to 10 per kWh", minimum=0, maximum=10, decimals=3, step=0.01)
    carbon_intensity: float = declare(
        0.4, "Grid carbon intensity (kg CO2/kWh)", "float",
        "kg of CO2 per kWh of your electricity grid (0.4 is a world average).",
        "kg of CO2 per kWh, from 0 to 2", minimum=0, maximum=2, decimals=3, step=0.01)
    hf_token: str = declare(
        "", "Hugging Face token", "text",
        "Optional. Needed for gated models (Llama, Gemma, Mistral) and to upload models. Only sent to the hub.",
        "a token from huggingface.co/settings/tokens, or empty", allow_empty=True, unit="secret")
    theme: str = declare("system", "Theme", "choice", "The app's colours: the system's, light or dark.",
                         "system, light or dark", choices=("system", "light", "dark"))
    notifications: bool = declare(True, "Desktop notifications", "bool",
                                  "A desktop notification when a run ends.", "on or off")
    evaluate_after_run: bool = declare(
        True, "Score each run when it completes", "bool",
        "When a run completes, score it on its held-back examples and on general skills "
        "(a few minutes on a laptop; it can be cancelled).", "on or off")
    welcome_seen: bool = declare(False, "Welcome shown", "bool", "The first-run welcome was shown.", "on or off",
                                 editable_by="app")


def app_settings_declared():
    """Every application setting's declaration, in the dialog's order."""
    return settings_of(AppSettings)


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
    # a value its declaration does not accept (a hand edit) falls back to its default instead of breaking the app
    return AppSettings(**{spec.name: data[spec.name] for spec in app_settings_declared()
                          if spec.name in data and spec.accepts(data[spec.name])})


def save_settings(settings: AppSettings) -> None:
    """Write atomically; the file is created readable by its owner only (it may hold a token), never
    created world-readable first and restricted afterwards."""
    atomic.write_json(settings_file(), asdict(settings), private=True)
