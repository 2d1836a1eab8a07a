"""Reading the run folders for display (no Qt here: shared by the window and its tests)."""
from __future__ import annotations

from pathlib import Path

from peftstudio.engine.runs import read_run_info, run_folders_in


def recent_runs(runs_dir: Path, limit: int = 20) -> list[dict]:
    runs = []
    if runs_dir.exists():
        for folder in run_folders_in(runs_dir):
            info = read_run_info(folder)
            if info:
                runs.append(info)
    runs.sort(key=lambda r: r.get("created", ""), reverse=True)
    return runs[:limit]
