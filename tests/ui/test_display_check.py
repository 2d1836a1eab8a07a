"""Starting the window where Qt cannot draw one: a plain message naming the cause and exit 1, never Qt's abort."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path


def start(env_changes: dict, *args) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QT_")}
    env.update(env_changes)
    return subprocess.run([sys.executable, "-m", "peftstudio", *args], capture_output=True, text=True, timeout=300,
                          env=env)


def test_no_loadable_platform_plugin_gives_a_plain_message_and_exit_1(tmp_path):
    done = start({"QT_QPA_PLATFORM_PLUGIN_PATH": str(tmp_path), "QT_QPA_PLATFORM": "xcb", "DISPLAY": ":0"})
    assert done.returncode == 1
    assert "cannot open its window" in done.stderr and "display plugin for 'xcb'" in done.stderr
    assert "Reinstalling the application" not in done.stderr and "Traceback" not in done.stderr


def test_a_plugin_whose_libraries_are_missing_is_named_with_the_packages_to_install(tmp_path):
    import PySide6

    plugins = Path(PySide6.__file__).parent / "Qt" / "plugins" / "platforms"
    shutil.copy(plugins / "libqxcb.so", tmp_path / "libqxcb.so")  # away from the Qt libraries it links to
    done = start({"QT_QPA_PLATFORM_PLUGIN_PATH": str(tmp_path), "QT_QPA_PLATFORM": "xcb", "DISPLAY": ":0"})
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "a system library that Qt needs to draw windows is missing (lib" in done.stderr
    assert "sudo apt install libxcb-cursor0" in done.stderr and "sudo dnf install" in done.stderr


def test_self_test_reports_the_same_message(tmp_path):
    done = start({"QT_QPA_PLATFORM_PLUGIN_PATH": str(tmp_path), "PEFTSTUDIO_DATA_DIR": str(tmp_path / "data")},
                 "--self-test")
    assert done.returncode == 1
    checks = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    gui = next(c for c in checks if not c["ok"])
    assert "cannot open its window" in gui["detail"]


def test_a_display_that_does_not_answer_is_named(tmp_path):
    """With Qt's libraries loadable but no X server at DISPLAY, Qt would abort; we say which display is silent."""
    import importlib.util

    from peftstudio.ui import display_check

    plugins = Path(importlib.util.find_spec("PySide6").origin).parent / "Qt" / "plugins" / "platforms"
    try:
        import ctypes

        ctypes.CDLL(str(plugins / "libqxcb.so"))
    except OSError:
        import pytest

        pytest.skip("this machine lacks the X libraries: the missing-library message is tested above")
    done = start({"QT_QPA_PLATFORM": "xcb", "DISPLAY": ":59"})
    assert done.returncode == 1 and "no display answers at :59" in done.stderr
    assert display_check._x_server_answers(":59") is False
