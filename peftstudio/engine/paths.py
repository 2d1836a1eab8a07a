"""Where PEFT Studio keeps its files (platformdirs), overridable for tests and portable installs."""
from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "peftstudio"


def data_dir() -> Path:
    """Runs, the store and presets. `PEFTSTUDIO_DATA_DIR` overrides the platform default."""
    override = os.environ.get("PEFTSTUDIO_DATA_DIR")
    if override:
        path = Path(override)
    else:
        from platformdirs import user_data_dir

        path = Path(user_data_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir() -> Path:
    """Re-creatable things (converted models, tokenized datasets). `PEFTSTUDIO_CACHE_DIR` overrides."""
    override = os.environ.get("PEFTSTUDIO_CACHE_DIR")
    if override:
        path = Path(override)
    else:
        from platformdirs import user_cache_dir

        path = Path(user_cache_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def runs_dir() -> Path:
    path = data_dir() / "runs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def config_dir() -> Path:
    """User settings. `PEFTSTUDIO_CONFIG_DIR` overrides; kept apart from the data folder, which is a setting."""
    override = os.environ.get("PEFTSTUDIO_CONFIG_DIR")
    if override:
        path = Path(override)
    elif os.environ.get("PEFTSTUDIO_DATA_DIR"):
        path = Path(os.environ["PEFTSTUDIO_DATA_DIR"]) / "config"  # tests and portable installs stay self-contained
    else:
        from platformdirs import user_config_dir

        path = Path(user_config_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def log_dir() -> Path:
    """Rotating log files. `PEFTSTUDIO_LOG_DIR` overrides; with PEFTSTUDIO_DATA_DIR set, logs live in it."""
    override = os.environ.get("PEFTSTUDIO_LOG_DIR")
    if override:
        path = Path(override)
    elif os.environ.get("PEFTSTUDIO_DATA_DIR"):
        path = Path(os.environ["PEFTSTUDIO_DATA_DIR"]) / "logs"
    else:
        from platformdirs import user_log_dir

        path = Path(user_log_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path
