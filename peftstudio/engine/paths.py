"""Where PEFT Studio keeps its files (platformdirs), overridable for tests and portable installs."""
from __future__ import annotations

import json
import os
from pathlib import Path

APP_NAME = "peftstudio"


def _folder(env: str, platform_dir: str, under_data: str | None = None) -> Path:
    """`env` if set; else a sub-folder of PEFTSTUDIO_DATA_DIR (tests and portable installs stay
    self-contained) when `under_data` is given and that is set; else platformdirs' `platform_dir`."""
    override = os.environ.get(env)
    if override:
        path = Path(override)
    elif under_data and os.environ.get("PEFTSTUDIO_DATA_DIR"):
        path = Path(os.environ["PEFTSTUDIO_DATA_DIR"]) / under_data
    else:
        import platformdirs

        path = Path(getattr(platformdirs, platform_dir)(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_dir() -> Path:
    """Runs, the store and presets: `PEFTSTUDIO_DATA_DIR`, else the data folder chosen in Settings, else the
    platform default. The settings themselves stay in `config_dir()`, which never moves with this folder."""
    if not os.environ.get("PEFTSTUDIO_DATA_DIR"):
        chosen = _chosen_data_folder()
        if chosen is not None:
            return chosen
    return _folder("PEFTSTUDIO_DATA_DIR", "user_data_dir")


SETTINGS_FILE = "settings.json"  # written by app_settings; read here for the one setting that moves folders


def _chosen_data_folder() -> Path | None:
    try:
        folder = json.loads((config_dir() / SETTINGS_FILE).read_text(encoding="utf-8")).get("data_folder")
    except (OSError, ValueError, AttributeError, RecursionError):
        return None
    if not isinstance(folder, str) or not folder.strip():
        return None
    folder = folder.strip()
    path = Path(folder).expanduser()
    if not path.is_absolute():
        return None  # a relative folder would move with the working directory
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir() -> Path:
    """Re-creatable things (converted models, tokenized datasets). `PEFTSTUDIO_CACHE_DIR` overrides."""
    return _folder("PEFTSTUDIO_CACHE_DIR", "user_cache_dir")


def runs_dir() -> Path:
    path = data_dir() / "runs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def config_dir() -> Path:
    """User settings. `PEFTSTUDIO_CONFIG_DIR` overrides; kept apart from the data folder, which is a setting."""
    return _folder("PEFTSTUDIO_CONFIG_DIR", "user_config_dir", under_data="config")


def log_dir() -> Path:
    """Rotating log files. `PEFTSTUDIO_LOG_DIR` overrides; with PEFTSTUDIO_DATA_DIR set, logs live in it."""
    return _folder("PEFTSTUDIO_LOG_DIR", "user_log_dir", under_data="logs")


def nearest_existing(path: Path) -> Path:
    """`path` itself or its nearest parent that exists: where the free space of a folder yet to be made is asked."""
    path = Path(path)
    while not path.exists() and path.parent != path:
        path = path.parent
    return path
