"""Issue 16, item 12: the probe classes that showed a Python traceback, each now answered with a plain and
true message, and the one top-level handler that catches whatever no command handled."""
from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from peftstudio.engine.errors import from_exception

DATASET = [{"instruction": f"q{i}", "output": f"a{i}"} for i in range(6)]


def cli(*args, env=None, cwd=None):
    return subprocess.run([sys.executable, "-m", "peftstudio", *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})}, cwd=cwd)


def plain(result, code: int, *phrases: str) -> None:
    text = result.stderr + result.stdout
    assert result.returncode == code, text
    assert "Traceback" not in text and "Error:" not in text.replace("ERROR", ""), text
    for phrase in phrases:
        assert phrase in text, (phrase, text)


@pytest.fixture
def dataset(tmp_path) -> Path:
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in DATASET) + "\n")
    return path


def test_wrong_types_in_mapping_and_settings(dataset, tmp_path):
    plain(cli("validate", str(dataset), "--mapping", "[1, 2]"), 2, "wrong shape")
    plain(cli("validate", str(dataset), "--mapping", '{"prompt": 3}'), 2, "wrong shape")
    plain(cli("validate", str(dataset), "--mapping", "[" * 100_000), 2, "not valid JSON")
    for settings, field in (('{"column_mapping": [1]}', "column_mapping"), ('{"system_prompt": 5}', "system_prompt"),
                            ('{"column_mapping": {"prompt": 1}}', "column_mapping"),
                            ('{"lora_r": "16"}', "lora_r"), ("[" * 100_000, "not valid JSON")):
        plain(cli("train", "--dataset", str(dataset), "--config", settings, "--out", str(tmp_path / "never")), 1,
              field)
    assert not (tmp_path / "never").exists()


def test_config_and_fix_paths_that_are_folders_or_missing(dataset, tmp_path):
    plain(cli("train", "--dataset", str(dataset), "--config", str(tmp_path)), 1, "is a folder")
    plain(cli("train", "--dataset", str(dataset), "--config", str(tmp_path / "missing.json")), 1, "not found")
    plain(cli("validate", str(dataset), "--fix", str(tmp_path)), 1, "needs a file name")
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    plain(cli("validate", str(dataset), "--fix", str(blocker / "out.jsonl")), 1, "is needed")
    result = cli("validate", str(dataset), "--fix", str(tmp_path / "new" / "folder" / "out.jsonl"))
    plain(result, 0)  # a missing folder is made, as for any output file
    assert (tmp_path / "new" / "folder" / "out.jsonl").exists()


def test_fix_onto_a_full_disk_says_so_and_leaves_nothing(dataset, tmp_path, monkeypatch, capsys):
    from peftstudio.cli import main
    from peftstudio.engine.data import repair

    def full_disk(src, dst):  # the disk fills up as the repaired copy is put in place
        raise OSError(errno.ENOSPC, "No space left on device", str(dst))

    monkeypatch.setattr(repair.os, "replace", full_disk)
    code = main(["validate", str(dataset), "--fix", str(tmp_path / "out.jsonl")])
    err = capsys.readouterr().err
    assert code == 1 and "The disk is full" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.jsonl"]


def test_read_only_is_not_a_full_disk():
    for code in (errno.EACCES, errno.EPERM, errno.EROFS):
        error = from_exception(OSError(code, os.strerror(code), "/somewhere/out.jsonl"))
        assert "disk is full" not in error.title.lower() and "may not write" in error.title
        assert "/somewhere/out.jsonl" in error.what
    assert from_exception(OSError(errno.ENOSPC, "full")).title == "The disk is full"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root may write to read-only folders")
def test_a_read_only_folder_is_reported_as_such(dataset, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        plain(cli("validate", str(dataset), "--fix", str(locked / "out.jsonl")), 1, "may not write")
    finally:
        locked.chmod(0o700)


def test_odd_runs_and_versions_arguments():
    plain(cli("runs", "show"), 1, "Wrong number of runs")
    plain(cli("runs", "show", "a", "b"), 1, "Wrong number of runs")
    plain(cli("runs", "show", ".."), 1, "Run not found")
    plain(cli("runs", "show", "/"), 1, "Run not found")
    plain(cli("runs", "compare"), 1, "2 to 5")
    plain(cli("versions", "rollback"), 1, "--model and --version")
    plain(cli("versions", "delete", "--model", "x"), 1, "--version")
    plain(cli("versions", "archive"), 1, "--model")


def test_unwritable_caches_do_not_stop_hardware_or_the_app(tmp_path, qtbot, monkeypatch):
    blocker = tmp_path / "cache-is-a-file"
    blocker.write_text("x")
    result = cli("hardware", "--json", env={"PEFTSTUDIO_CACHE_DIR": str(blocker / "cache")})
    plain(result, 0)
    assert json.loads(result.stdout)["cpu_cores"] >= 1

    from peftstudio.ui.main_window import MainWindow

    monkeypatch.setenv("PEFTSTUDIO_CACHE_DIR", str(blocker / "cache"))
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    assert window.isVisible()


def test_messages_are_true(tmp_path):
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    plain(cli("validate", str(fifo)), 2, "not a regular file")
    long_first = tmp_path / "long.jsonl"
    long_first.write_text(json.dumps({"instruction": "q" * 80_000, "output": "a"}) + "\n" +
                          "\n".join(json.dumps(r) for r in DATASET) + "\n")
    result = cli("validate", str(long_first), "--json")
    plain(result, 0)
    report = json.loads(result.stdout)
    assert report["format"]["format"] == "jsonl" and report["rows_total"] == 7
    for text, code, phrase in (("42", 2, "single value"), ('"text"', 2, "single value"),
                               ('{"instruction": "a", "output": NaN}\n{"instruction": "b", "output": "c"}\n', 1,
                                "NaN is not a value JSON allows")):
        path = tmp_path / ("odd.jsonl" if code == 1 else "odd.json")
        path.write_text(text)
        plain(cli("validate", str(path)), code, phrase)


def test_the_top_level_handler_turns_any_failure_into_a_plain_message(tmp_path, monkeypatch, capsys):
    from peftstudio import cli_runs
    from peftstudio.cli import main

    monkeypatch.setenv("PEFTSTUDIO_LOG_DIR", str(tmp_path / "logs"))

    def bug(args):
        raise ZeroDivisionError("a bug nobody foresaw")

    monkeypatch.setattr(cli_runs, "runs_command", bug)
    assert main(["runs", "list", "--json"]) == 1
    out, err = capsys.readouterr()
    assert json.loads(out)["ok"] is False and "Traceback" not in err and "ZeroDivisionError" not in err
    report = next((tmp_path / "logs" / "diagnostics").glob("diagnostic-*.txt"))
    assert "ZeroDivisionError" in report.read_text()  # the details went to the file, for a bug report


def test_the_gui_excepthook_shows_a_plain_error(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QPushButton

    from peftstudio.ui import error_dialog

    monkeypatch.setenv("PEFTSTUDIO_LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.setattr(sys, "excepthook", error_dialog.handle_unexpected)
    button = QPushButton("crash")
    qtbot.addWidget(button)
    button.clicked.connect(lambda: 1 / 0)  # a slot with a bug
    button.show()
    button.click()
    qtbot.waitUntil(lambda: error_dialog.shown and error_dialog.shown[-1].isVisible(), timeout=5000)
    box = error_dialog.shown[-1]
    assert box.text() == "Something unexpected went wrong" and "Traceback" not in box.informativeText()
    assert "diagnostic" in box.informativeText()
    box.done(0)


def test_two_first_time_conversions_at_once_agree(tmp_path, monkeypatch, demo_folder, demo_tokenizer):
    """The second process to finish finds the first one's copy in place (ENOTEMPTY): it uses that copy."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    from peftstudio.engine import models
    from peftstudio.engine.export.gguf_convert import GGUFMetadata, write_gguf

    config = AutoConfig.for_model("llama", vocab_size=demo_tokenizer.vocab_size, hidden_size=32, intermediate_size=64,
                                  num_hidden_layers=1, num_attention_heads=4, num_key_value_heads=2,
                                  max_position_embeddings=128, bos_token_id=1, eos_token_id=2)
    torch.manual_seed(0)
    source_folder = tmp_path / "gguf"
    source_folder.mkdir()
    write_gguf(AutoModelForCausalLM.from_config(config).eval(), demo_tokenizer, demo_folder, source_folder / "t.gguf",
               "f32", GGUFMetadata("tiny", "tiny"))
    monkeypatch.setenv("PEFTSTUDIO_CACHE_DIR", str(tmp_path / "cache"))
    source = models.ModelSource("tiny", source_folder, "t.gguf")
    real_replace = os.replace

    def the_other_process_finishes_first(staging, target):
        shutil.copytree(staging, target)  # another process's complete copy lands first
        return real_replace(staging, target)

    monkeypatch.setattr(models.os, "replace", the_other_process_finishes_first)
    folder = models.trainable_folder(source)
    assert models.is_converted(source) and folder == models.converted_path(source)
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]  # no staging folder left behind
