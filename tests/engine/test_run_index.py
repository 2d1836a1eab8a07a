"""run-folders.txt, the note of runs made outside the runs folder (--out), survives any path: a newline inside a
path once split it into two lines, so after a store rebuild that run and its version vanished."""
from __future__ import annotations

import json

from peftstudio.engine import paths
from peftstudio.engine.runs.index import known_run_folders, remember_run_folder
from peftstudio.engine.runs.layout import INFO_FILE, KNOWN_RUNS_FILE


def test_a_run_folder_whose_path_holds_a_newline_is_found_again(tmp_path):
    odd = tmp_path / "my\nruns" / "run-1"
    plain = tmp_path / "older" / "run-2"
    for folder in (odd, plain):
        folder.mkdir(parents=True)
        (folder / INFO_FILE).write_text(json.dumps({"status": "completed"}), encoding="utf-8")
    listing = paths.data_dir() / KNOWN_RUNS_FILE
    listing.parent.mkdir(parents=True, exist_ok=True)
    with open(listing, "a", encoding="utf-8") as handle:  # a line as earlier versions wrote it: the bare path
        handle.write(str(plain) + "\n")
    remember_run_folder(odd)
    found = known_run_folders()
    assert odd in found and plain in found
