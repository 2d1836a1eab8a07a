"""Issue 16, data loss: each case tries to lose the user's data the way a careless user or a crash would."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from peftstudio.engine.config import TrainingConfig
from peftstudio.engine.errors import PlainError
from peftstudio.engine.history.store import default_store
from peftstudio.engine.runs.events import Status, last_status
from peftstudio.engine.training.session import TrainingSession
from peftstudio.engine.history.versions import create_version, delete_version, list_versions, versions_record


def cli(*args, cwd=None, env=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "peftstudio", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **(env or {})}, timeout=timeout)


def config_for(tmp_path: Path, model: str = "HuggingFaceTB/SmolLM2-135M-Instruct", name: str = "notes") -> TrainingConfig:
    dataset = tmp_path / f"{name}.jsonl"
    dataset.write_text('{"instruction": "a", "output": "b"}\n', encoding="utf-8")
    return TrainingConfig(model_name=model, dataset_path=str(dataset), max_steps=2)


def finished(session: TrainingSession, model_name: str | None = None) -> dict:
    """What a completed run leaves: a version in the store and its record in run.json (as `_finish` does)."""
    version = create_version(default_store(), session.run_dir, session.config, {"steps": 2}, model_name)
    session.annotate(version_record=versions_record(version))
    session.close()
    return version


def test_relative_run_folders_are_stored_absolute_and_delete_spares_unrelated_folders(tmp_path, monkeypatch):
    place_a, place_b = tmp_path / "a", tmp_path / "b"
    place_a.mkdir()
    place_b.mkdir()
    monkeypatch.chdir(place_a)
    session = TrainingSession.create(config_for(tmp_path, name="relative"), Path("runs/try1"))
    assert session.run_dir == (place_a / "runs" / "try1").resolve()
    info = json.loads((session.run_dir / "run.json").read_text())
    assert Path(info["folder"]).is_absolute() and info["uid"]
    assert Path(default_store().run("try1")["folder"]).is_absolute()
    version = finished(session, "relative-model")
    assert Path(version["checkpoint_path"]).is_absolute()

    # from another folder, an unrelated runs/try1 with the user's files in it
    monkeypatch.chdir(place_b)
    (place_b / "runs" / "try1").mkdir(parents=True)
    (place_b / "runs" / "try1" / "precious.txt").write_text("keep me")
    delete_version(default_store(), "relative-model", version["version"], confirmed=True)
    assert (place_b / "runs" / "try1" / "precious.txt").read_text() == "keep me"
    assert not (place_a / "runs" / "try1").exists()  # the version's own folder was the one deleted

    # a version whose folder now holds another run of the same name is never deleted
    second = TrainingSession.create(config_for(tmp_path, name="relative"), place_a / "runs" / "try1")
    version = finished(second, "relative-model")
    info = json.loads((second.run_dir / "run.json").read_text())
    (second.run_dir / "run.json").write_text(json.dumps({**info, "uid": "another-run"}))
    result = delete_version(default_store(), "relative-model", version["version"], confirmed=True)
    assert "not deleted" in result["files_kept"] and (second.run_dir / "config.json").exists()


def test_export_overwrite_replaces_only_an_earlier_export(tmp_path, monkeypatch, qtbot):
    from peftstudio.engine.export import safety
    from peftstudio.ui.export_dialog import ExportDialog

    run = TrainingSession.create(config_for(tmp_path, name="export"), tmp_path / "run")
    run.close()
    work = tmp_path / "work"
    work.mkdir()
    (work / "thesis.tex").write_text("years of work")
    result = cli("export", str(run.run_dir), "--format", "hf", "--out", ".", "--overwrite", cwd=work)
    assert result.returncode == 1 and "not an earlier export" in result.stderr and "Traceback" not in result.stderr
    assert (work / "thesis.tex").read_text() == "years of work"

    earlier = tmp_path / "earlier-export"
    earlier.mkdir()
    (earlier / "model.gguf").write_text("old")
    (earlier / safety.EXPORT_MARKER).write_text("{}")
    assert safety.check_destination(earlier, overwrite=True) == earlier
    with safety.staged_folder(earlier, overwrite=True) as staging:
        (staging / "model.gguf").write_text("new")
    assert (earlier / "model.gguf").read_text() == "new"

    # the app asks before replacing, and does nothing when the answer is no
    from PySide6.QtWidgets import QMessageBox

    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a) or QMessageBox.No)
    dialog = ExportDialog(run.run_dir)
    qtbot.addWidget(dialog)
    dialog.folder.setText(str(earlier))
    dialog.overwrite.setChecked(True)
    dialog.start.click()
    assert asked and dialog.worker is None and (earlier / "model.gguf").read_text() == "new"


HOLD_LOCK = """
import sys, time
from peftstudio.engine.runs.lock import lock_run
lock_run(sys.argv[1])
print("locked", flush=True)
time.sleep(120)
"""


def test_a_run_open_in_another_process_is_refused_and_not_marked_failed(tmp_path):
    session = TrainingSession.create(config_for(tmp_path, name="locked"), tmp_path / "run")
    session._set_status(Status.INITIALIZING)
    session._set_status(Status.RUNNING)  # as a live training process leaves it
    session.close()
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(session.run_dir)], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(PlainError, match="open in another window or process"):
            TrainingSession.open(session.run_dir)
        second = cli("train", "--resume", str(session.run_dir))
        assert second.returncode == 1 and "open in another window or process" in second.stderr
        assert "Traceback" not in second.stderr
        assert last_status(session.run_dir / "events.jsonl") == "running"  # the live run was not marked failed
    finally:
        holder.kill()  # like a crash: the kernel releases the lock
        holder.wait()
    reopened = TrainingSession.open(session.run_dir)
    assert reopened.status == Status.FAILED  # now nobody owns it: it did end unexpectedly
    reopened.close()


def _versions_via_cli(data: Path) -> tuple[list[dict], str]:
    result = cli("versions", "list", "--json", env={"PEFTSTUDIO_DATA_DIR": str(data)})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout), result.stderr


def test_a_lost_or_damaged_store_is_rebuilt_with_runs_and_versions(tmp_path, monkeypatch):
    data = tmp_path / "data"
    monkeypatch.setenv("PEFTSTUDIO_DATA_DIR", str(data))
    inside = TrainingSession.create(config_for(tmp_path, name="store-a"))
    finished(inside, "store-model")
    elsewhere = TrainingSession.create(config_for(tmp_path, name="store-a"), tmp_path / "elsewhere" / "run")
    finished(elsewhere, "store-model")
    store_file = data / "peftstudio.sqlite3"
    expected = {v["version"] for v in list_versions(default_store(), "store-model")}
    assert expected == {"1.0.0", "1.0.1"}

    def remove_store():
        for suffix in ("", "-wal", "-shm"):
            Path(f"{store_file}{suffix}").unlink(missing_ok=True)

    remove_store()
    listed, stderr = _versions_via_cli(data)
    assert {v["version"] for v in listed} == expected and "rebuilt" in stderr
    assert sum(v["active"] for v in listed) == 1

    remove_store()
    store_file.write_bytes(b"this is not a database " * 500)
    result = cli("runs", "reindex", "--json", env={"PEFTSTUDIO_DATA_DIR": str(data)})
    assert result.returncode == 0 and "damaged" in result.stderr, result.stderr
    assert list(data.glob("peftstudio.sqlite3.damaged-*"))  # moved aside, never deleted
    listed, _ = _versions_via_cli(data)
    assert {v["version"] for v in listed} == expected

    size = store_file.stat().st_size
    with open(store_file, "r+b") as handle:  # truncated: a copy or a disk cut short
        handle.truncate(size // 3)
    listed, _ = _versions_via_cli(data)
    assert {v["version"] for v in listed} == expected


def test_choosing_a_data_folder_keeps_every_other_setting(tmp_path, monkeypatch, qtbot):
    from peftstudio.engine import paths
    from peftstudio.engine.app_settings import AppSettings, load_settings, save_settings
    from peftstudio.ui.settings_dialog import SettingsDialog

    monkeypatch.delenv("PEFTSTUDIO_DATA_DIR")
    monkeypatch.setenv("PEFTSTUDIO_CONFIG_DIR", str(tmp_path / "config"))
    save_settings(AppSettings(hf_token="hf_secret", theme="dark", welcome_seen=True))
    dialog = SettingsDialog(load_settings())
    qtbot.addWidget(dialog)
    dialog.widgets["data_folder"].setText(str(tmp_path / "my-data"))
    save_settings(dialog.value())
    # a restart: everything is read back from the same settings file
    again = load_settings()
    assert (again.hf_token, again.theme, again.welcome_seen) == ("hf_secret", "dark", True)
    assert paths.data_dir() == tmp_path / "my-data"
    assert paths.config_dir() == tmp_path / "config"
    assert "PEFTSTUDIO_DATA_DIR" not in os.environ


def test_a_damaged_newest_checkpoint_falls_back_to_the_newest_complete_one(tmp_path):
    from peftstudio.engine.runs.checkpoints import latest_checkpoint, mark_complete, remove_incomplete

    folder = tmp_path / "checkpoints"
    for step in (2, 4):
        checkpoint = folder / f"checkpoint-{step}"
        checkpoint.mkdir(parents=True)
        (checkpoint / "adapter_model.safetensors").write_bytes(os.urandom(4096))
        (checkpoint / "optimizer.pt").write_bytes(os.urandom(8192))
        mark_complete(checkpoint, {"step": step})
    assert latest_checkpoint(folder).name == "checkpoint-4"
    with open(folder / "checkpoint-4" / "optimizer.pt", "r+b") as handle:
        handle.truncate(100)
    assert latest_checkpoint(folder).name == "checkpoint-2"
    assert [p.name for p in remove_incomplete(folder)] == ["checkpoint-4"]
    assert (folder / "checkpoint-2" / "optimizer.pt").stat().st_size == 8192


def test_train_into_a_file_or_under_a_file_leaves_nothing_behind(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file")
    before = sorted(p.name for p in tmp_path.iterdir())
    for out in (blocker, blocker / "run"):
        result = cli("train", "--model", "HuggingFaceTB/SmolLM2-135M-Instruct", "--dataset",
                     str(config_for(tmp_path, name="blocked").dataset_path), "--out", str(out), "--max-steps", "1")
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert "What happened" in result.stderr
    assert blocker.read_text() == "a file"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(before + ["blocked.jsonl"])


def test_a_run_folder_appears_whole_or_not_at_all(tmp_path, monkeypatch):
    from peftstudio.engine import atomic
    from peftstudio.engine.runs.folder import RunFolder

    calls = []
    real = atomic.write_json

    def power_cut(path, data, **kwargs):  # the machine stops while run.json is being written
        calls.append(path)
        raise OSError(5, "Input/output error", str(path))

    monkeypatch.setattr(atomic, "write_json", power_cut)
    with pytest.raises(OSError):
        RunFolder.create(tmp_path / "new-run", config_for(tmp_path, name="whole"))
    assert calls and not (tmp_path / "new-run").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["whole.jsonl"]  # no hidden half-made folder either
    monkeypatch.setattr(atomic, "write_json", real)
    stale = tmp_path / ".new-run.creating-999999"  # what a killed process leaves (its pid is gone)
    stale.mkdir()
    (stale / "config.json").write_text("{}")
    folder = RunFolder.create(tmp_path / "new-run", config_for(tmp_path, name="whole"))
    assert folder.info()["uid"] and not stale.exists()
