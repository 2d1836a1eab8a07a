"""Reading the run folders for display (no Qt here: shared by the window and its tests)."""
from __future__ import annotations

from pathlib import Path

from peftstudio.engine.runs import read_run_info


def recent_runs(runs_dir: Path, limit: int = 20) -> list[dict]:
    runs = []
    if runs_dir.exists():
        for info_file in runs_dir.glob("*/run.json"):
            info = read_run_info(info_file.parent)
            if info:
                runs.append(info)
    runs.sort(key=lambda r: r.get("created", ""), reverse=True)
    return runs[:limit]
