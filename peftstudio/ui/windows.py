"""One window per thing: opening a run's dashboard or playground again brings the open one forward
instead of piling up copies (double-clicks in History and on the home page)."""
from __future__ import annotations

from typing import Callable

from PySide6.QtWidgets import QWidget

_OPEN: dict[tuple, QWidget] = {}


def show_once(key: tuple, make: Callable[[], QWidget]) -> QWidget:
    window = _OPEN.get(key)
    try:
        alive = window is not None and window.isVisible()
    except RuntimeError:  # its C++ side was deleted when it closed
        alive = False
    if not alive:
        window = make()
        _OPEN[key] = window
        window.show()
    window.raise_()
    window.activateWindow()
    return window
