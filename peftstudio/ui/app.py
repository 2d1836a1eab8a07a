"""Starting the Qt application."""
from __future__ import annotations

import sys
from pathlib import Path

ICON = Path(__file__).resolve().parent.parent / "resources" / "icons" / "peftstudio-256.png"


def close_splash() -> None:
    """The packaged binary shows a splash while it unpacks; it goes when the window is there."""
    splash = sys.modules.get("pyi_splash")
    if splash is not None:
        try:
            splash.close()
        except Exception:  # noqa: BLE001 - a splash that is already gone is fine
            pass


def run_gui() -> int:
    from peftstudio.ui.display_check import problem  # lazy: off the start-up path (bench/startup.py)

    trouble = problem()  # before Qt: its own failure aborts with advice that does not help
    if trouble:
        close_splash()
        print(trouble, file=sys.stderr)
        return 1
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from peftstudio.engine.app_log import setup_logging  # lazy: off the start-up path (bench/startup.py)
    from peftstudio.engine.app_settings import load_settings  # lazy: off the start-up path (bench/startup.py)
    from peftstudio.ui.error_dialog import install_excepthook, notice_box  # lazy: defers PySide6

    install_excepthook()  # from here on, no stack trace reaches the user
    settings = load_settings()  # its data folder is applied by paths.data_dir(), for the CLI too
    try:
        setup_logging()
    except OSError:
        pass  # a read-only or full disk: the app still runs, without a log file
    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("PEFT Studio")
    app.setDesktopFileName("peftstudio")
    # lazy: defers PySide6
    from peftstudio.ui.single_instance import InstanceServer, ask_running_instance, bring_to_front

    if ask_running_instance():  # the window already open comes forward instead
        return 0
    app.setWindowIcon(QIcon(str(ICON)))
    from peftstudio.ui.theme import apply_theme  # lazy: off the start-up path (bench/startup.py)

    apply_theme(app, settings.theme)
    from peftstudio.ui.main_window import MainWindow  # lazy: defers PySide6

    from pyqtgraph.util.garbage_collector import GarbageCollector

    # Python collects cycles on whichever thread allocates; a closed window collected on a training thread takes
    # Qt down. pyqtgraph's collector turns automatic collection off and collects on the UI thread every second.
    collector = GarbageCollector(interval=1.0)  # noqa: F841 - kept alive with the app
    window = MainWindow()
    server = InstanceServer(app)
    server.activate_requested.connect(lambda: bring_to_front(window))
    window.show()
    close_splash()
    from peftstudio.engine.history import take_notices  # lazy: off the start-up path (bench/startup.py)

    for notice in take_notices():  # e.g. the history had to be rebuilt from the run folders
        notice_box("History rebuilt", notice, window).open()
    from peftstudio.ui.welcome import maybe_welcome  # lazy: defers PySide6

    maybe_welcome(window)
    return app.exec()
