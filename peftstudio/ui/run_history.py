"""Reading the run folders for display (no Qt here: shared by the window and its tests)."""
from __future__ import annotations

import json
from pathlib import Path


def recent_runs(runs_dir: Path, limit: int = 20) -> list[dict]:
    runs = []
    if runs_dir.exists():
        for info_file in runs_dir.glob("*/run.json"):
            try:
                runs.append(json.loads(info_file.read_text(encoding="utf-8")))
            except (OSError, json.JSONDecodeError):
                continue
    runs.sort(key=lambda r: r.get("created", ""), reverse=True)
    return runs[:limit]
