"""Starting the Qt application."""
from __future__ import annotations

import sys


def run_gui() -> int:
    from PySide6.QtWidgets import QApplication

    from peftstudio.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("PEFT Studio")
    window = MainWindow()
    window.show()
    return app.exec()
