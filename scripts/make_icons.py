"""Render the app icon (resources/icons/peftstudio.svg) to the PNG sizes desktops and installers use.

Usage: QT_QPA_PLATFORM=offscreen python scripts/make_icons.py
"""
from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

ICONS = Path(__file__).resolve().parent.parent / "peftstudio" / "resources" / "icons"
SIZES = (16, 32, 48, 64, 128, 256, 512)


def main() -> int:
    app = QGuiApplication.instance() or QGuiApplication(sys.argv)  # noqa: F841 - Qt needs an application
    renderer = QSvgRenderer(str(ICONS / "peftstudio.svg"))
    for size in SIZES:
        image = QImage(size, size, QImage.Format_ARGB32)
        image.fill(Qt.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.Antialiasing)
        renderer.render(painter)
        painter.end()
        image.save(str(ICONS / f"peftstudio-{size}.png"))
    print(f"wrote {len(SIZES)} icons to {ICONS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
