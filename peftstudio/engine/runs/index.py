"""Which run folders a data folder knows, so its history can be rebuilt from the folders alone.

Runs made in the data folder's `runs/` are found by listing it; runs made elsewhere (`--out`) are noted
in `run-folders.txt` when they are created. The store (`history`) is an index of these folders.
"""
from __future__ import annotations

import json
from pathlib import Path

from peftstudio.engine import paths
from peftstudio.engine.runs.layout import INFO_FILE, KNOWN_RUNS_FILE


def remember_run_folder(run_dir: Path) -> None:
    """Note a run folder outside the default runs folder, so the history can be rebuilt from it if lost."""
    if run_dir.parent == paths.runs_dir().resolve():
        return
    try:
        with open(paths.data_dir() / KNOWN_RUNS_FILE, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(str(run_dir)) + "\n")  # one JSON string a line: a newline in a path stays in it
    except OSError:
        pass  # only a help for rebuilding; the run itself is fine


def run_folders_in(runs_dir: Path) -> list[Path]:
    """The run folders directly inside one folder (those with a run.json), sorted by name."""
    return sorted(p.parent.resolve() for p in Path(runs_dir).glob(f"*/{INFO_FILE}"))


def known_run_folders(data_dir: Path | None = None) -> list[Path]:
    """Every run folder a data folder knows: those in its runs folder, then those created elsewhere."""
    data_dir = data_dir or paths.data_dir()
    found = run_folders_in(data_dir / "runs")
    try:
        listed = (data_dir / KNOWN_RUNS_FILE).read_text(encoding="utf-8").splitlines()
    except OSError:
        listed = []
    for line in dict.fromkeys(map(_listed_path, listed)):
        folder = Path(line)
        if line and folder.is_absolute() and (folder / INFO_FILE).is_file() and folder not in found:
            found.append(folder)
    return found


def _listed_path(line: str) -> str:
    """A line of run-folders.txt: a JSON string, or (written before JSON lines) the bare path."""
    try:
        value = json.loads(line)
    except ValueError:
        return line
    return value if isinstance(value, str) else line


def read_run_info(folder: str | Path) -> dict:
    """A run folder's run.json as a dict ({} when it is missing or unreadable). Read-only: RunFolder writes it."""
    try:
        info = json.loads((Path(folder) / INFO_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}
