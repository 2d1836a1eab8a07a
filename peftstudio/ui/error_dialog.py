"""The one way the GUI shows a failure: our plain error in a message box, never a stack trace.

`install_excepthook` catches what no slot handled (PySide6 hands exceptions raised in slots to
`sys.excepthook` and keeps running): the stack trace goes to a diagnostic file and the log, the user
gets the plain message. All text is shown as plain text: errors quote file names and model output.
"""
from __future__ import annotations

import logging
import sys

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox

log = logging.getLogger(__name__)
shown: list[QMessageBox] = []  # the open error boxes (kept referenced until closed)


def error_box(error, parent=None) -> QMessageBox:
    box = QMessageBox(QMessageBox.Warning, error.title, error.title, QMessageBox.Ok, parent)
    box.setObjectName("error_dialog")
    box.setTextFormat(Qt.PlainText)
    actions = "\n".join(f"{i}. {a}" for i, a in enumerate(error.actions, 1))
    details = f"What happened: {error.what}\n\nWhy: {error.why}\n\nWhat you can do:\n{actions}\n\n" \
              f"Get help: {error.help_link}"
    if error.diagnostic_report:
        details += f"\n\nTechnical details were saved to: {error.diagnostic_report}"
    box.setInformativeText(details)
    return box


def show_error(error, parent=None) -> None:
    error_box(error, parent).exec()


def notice_box(title: str, text: str, parent=None) -> QMessageBox:
    box = QMessageBox(QMessageBox.Information, title, text, QMessageBox.Ok, parent)
    box.setTextFormat(Qt.PlainText)
    return box


def handle_unexpected(exc_type, exc, tb) -> None:
    """sys.excepthook for the GUI: log, save the details, show the plain message (once at a time)."""
    from peftstudio.engine.errors import from_exception  # lazy: off the start-up path (bench/startup.py)
    from peftstudio.engine.paths import log_dir  # lazy: off the start-up path (bench/startup.py)

    if issubclass(exc_type, KeyboardInterrupt):
        QApplication.quit()
        return
    log.error("unhandled exception", exc_info=(exc_type, exc, tb))
    exc = exc if exc is not None else exc_type()
    exc.__traceback__ = tb
    try:
        folder = log_dir() / "diagnostics"
    except OSError:
        folder = None
    error = from_exception(exc, folder)
    app = QApplication.instance()
    if app is None or any(box.isVisible() for box in shown):  # one box at a time; a loop of errors would flood
        print(error.render(), file=sys.stderr)
        return
    box = error_box(error, app.activeWindow())
    box.finished.connect(lambda _=0, b=box: shown.remove(b) if b in shown else None)
    shown.append(box)
    box.open()  # window-modal, and the event loop goes on


def install_excepthook() -> None:
    sys.excepthook = handle_unexpected
