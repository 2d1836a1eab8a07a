"""The main window: a home page with the machine's summary and the recent runs."""
from __future__ import annotations

import psutil
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QLabel, QListWidget, QMainWindow, QVBoxLayout, QWidget

from peftstudio import __version__
from peftstudio.engine import paths
from peftstudio.ui.locales import STRINGS
from peftstudio.ui.run_history import recent_runs


class MainWindow(QMainWindow):
    def __init__(self):
        super().__init__()
        self.setWindowTitle(f"{STRINGS['app.title']} {__version__}")
        self.setObjectName("main_window")
        central = QWidget()
        layout = QVBoxLayout(central)
        heading = QLabel(STRINGS["home.heading"])
        heading.setObjectName("home.heading")
        heading.setStyleSheet("font-size: 20px; font-weight: 600;")
        layout.addWidget(heading)
        memory = psutil.virtual_memory()
        self.hardware_label = QLabel(
            f"{STRINGS['home.hardware']}: {psutil.cpu_count(logical=True)} CPU threads, "
            f"{memory.total / 2**30:.1f} GB RAM ({memory.available / 2**30:.1f} GB free)")
        self.hardware_label.setObjectName("home.hardware")
        layout.addWidget(self.hardware_label)
        layout.addWidget(QLabel(STRINGS["home.recent_runs"]))
        self.runs_list = QListWidget()
        self.runs_list.setObjectName("home.recent_runs")
        layout.addWidget(self.runs_list)
        self.setCentralWidget(central)
        self.refresh_runs()
        self._restore_geometry()

    def refresh_runs(self) -> None:
        self.runs_list.clear()
        runs = recent_runs(paths.runs_dir())
        if not runs:
            self.runs_list.addItem(STRINGS["home.no_runs"])
        for run in runs:
            self.runs_list.addItem(f"{run.get('id')} — {run.get('model_name')} — {run.get('status')}")

    def _restore_geometry(self) -> None:
        geometry = QSettings("peftstudio", "peftstudio").value("main_window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(960, 640)

    def closeEvent(self, event):  # noqa: N802 - Qt naming
        QSettings("peftstudio", "peftstudio").setValue("main_window/geometry", self.saveGeometry())
        super().closeEvent(event)
