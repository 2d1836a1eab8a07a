"""First run, single instance, logs and the self-test: the app as an installed desktop program."""
from __future__ import annotations

import json
import logging
import subprocess
import sys

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from peftstudio.engine import paths
from peftstudio.engine.app_settings import load_settings
from peftstudio.ui.main_window import MainWindow
from peftstudio.ui.welcome import DEMO_STEPS, SAMPLE, maybe_welcome


def test_first_run_welcome_checks_the_machine_and_starts_the_demo(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    dialog = maybe_welcome(window)
    assert dialog is not None and dialog.isVisible()
    checks = [label.text() for label in dialog.check_labels]
    assert "CPU threads" in checks[0] and "GB free in" in checks[1] and "Demo model installed" in checks[2]
    assert dialog.start_button.isEnabled()
    assert load_settings().welcome_seen and maybe_welcome(window) is None  # only once
    dialog.grab().save(str(paths.data_dir() / "welcome.png"))

    qtbot.mouseClick(dialog.start_button, Qt.LeftButton)
    assert not dialog.isVisible() and window.worker is not None and window.dashboards
    config = window.worker.session.config
    assert config.dataset_path == str(SAMPLE) and config.max_steps == DEMO_STEPS and config.problems() == []
    seen = []
    window.worker.metrics.connect(lambda event: seen.append(event["step"]))
    qtbot.waitUntil(lambda: bool(seen) and seen[-1] >= 1, timeout=300_000)  # the demo really trains
    window.worker.stop()
    window.worker.wait()
    assert window.worker.session.status.value == "stopped"


def test_a_second_launch_brings_the_first_window_forward(qtbot):
    from peftstudio.ui.single_instance import InstanceServer, ask_running_instance

    assert not ask_running_instance()  # nobody is listening yet
    server = InstanceServer()
    try:
        with qtbot.waitSignal(server.activate_requested, timeout=5000):
            assert ask_running_instance()
    finally:
        server.close()


def test_logs_rotate_in_the_log_folder_and_diagnostics_can_be_copied(qtbot):
    from peftstudio.engine.app_log import BACKUPS, MAX_BYTES, setup_logging

    path = setup_logging()
    assert path.parent == paths.log_dir() and setup_logging() == path  # attached once
    handler = next(h for h in logging.getLogger().handlers if getattr(h, "baseFilename", None) == str(path))
    assert handler.maxBytes == MAX_BYTES and handler.backupCount == BACKUPS
    logging.getLogger("peftstudio.test").info("a line for the diagnostics")
    window = MainWindow()
    qtbot.addWidget(window)
    names = [action.text() for action in window.help_menu.actions()]
    assert "Open &logs folder" in names and "&Copy diagnostics" in names
    text = window.copy_diagnostics()
    assert QApplication.clipboard().text() == text
    assert "PEFT Studio 0.1.0" in text and "torch" in text and "a line for the diagnostics" in text


def test_self_test_passes_from_source():
    done = subprocess.run([sys.executable, "-m", "peftstudio", "--self-test"], capture_output=True, text=True,
                          timeout=300)
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    assert [line["check"] for line in lines[:3]] == ["main window and wizard", "bundled sample dataset", "demo model"]
    assert lines[-1] == {"self_test": "passed"}
    assert lines[2]["detail"]["answer"].startswith("The capital of France is Paris")
