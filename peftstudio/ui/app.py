"""Starting the Qt application."""
from __future__ import annotations

import sys
from pathlib import Path

ICON = Path(__file__).resolve().parent.parent / "resources" / "icons" / "peftstudio-256.png"


def apply_theme(app, theme: str) -> None:
    """'system' follows the desktop's light/dark choice; 'light' and 'dark' force one.

    Qt 6.8+ asks the platform for the scheme; where the platform cannot switch (some Linux desktops,
    offscreen), a Fusion palette of the chosen scheme is applied instead."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QColor, QPalette

    wanted = {"light": Qt.ColorScheme.Light, "dark": Qt.ColorScheme.Dark}.get(theme, Qt.ColorScheme.Unknown)
    hints = app.styleHints()
    if hasattr(hints, "setColorScheme"):
        hints.setColorScheme(wanted)
    if wanted == Qt.ColorScheme.Unknown or hints.colorScheme() == wanted:
        app.setPalette(QPalette())  # the platform's own
        return
    app.setStyle("Fusion")
    palette = app.style().standardPalette()
    if wanted == Qt.ColorScheme.Dark:
        for role, color in ((QPalette.Window, "#2b2b2b"), (QPalette.WindowText, "#e6e6e6"),
                            (QPalette.Base, "#1e1e1e"), (QPalette.AlternateBase, "#2b2b2b"),
                            (QPalette.Text, "#e6e6e6"), (QPalette.Button, "#353535"),
                            (QPalette.ButtonText, "#e6e6e6"), (QPalette.Highlight, "#2a6fdb"),
                            (QPalette.HighlightedText, "#ffffff"), (QPalette.ToolTipBase, "#353535"),
                            (QPalette.ToolTipText, "#e6e6e6")):
            palette.setColor(role, QColor(color))
    app.setPalette(palette)


def run_gui() -> int:
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from peftstudio.engine.app_log import setup_logging
    from peftstudio.engine.app_settings import load_settings
    from peftstudio.ui.error_dialog import install_excepthook, notice_box

    install_excepthook()  # from here on, no stack trace reaches the user
    settings = load_settings()  # its data folder is applied by paths.data_dir(), for the CLI too
    try:
        setup_logging()
    except OSError:
        pass  # a read-only or full disk: the app still runs, without a log file
    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("PEFT Studio")
    app.setDesktopFileName("peftstudio")
    from peftstudio.ui.single_instance import InstanceServer, ask_running_instance, bring_to_front

    if ask_running_instance():  # the window already open comes forward instead
        return 0
    app.setWindowIcon(QIcon(str(ICON)))
    apply_theme(app, settings.theme)
    from peftstudio.ui.main_window import MainWindow

    window = MainWindow()
    server = InstanceServer(app)
    server.activate_requested.connect(lambda: bring_to_front(window))
    window.show()
    from peftstudio.engine.store import take_notices

    for notice in take_notices():  # e.g. the history had to be rebuilt from the run folders
        notice_box("History rebuilt", notice, window).open()
    from peftstudio.ui.welcome import maybe_welcome

    maybe_welcome(window)
    return app.exec()
