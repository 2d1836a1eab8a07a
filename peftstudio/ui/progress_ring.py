"""A circular progress indicator with the epoch, elapsed time and time left in its middle."""
from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QWidget


class ProgressRing(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("dashboard.ring")
        self.setMinimumSize(150, 150)
        self.fraction = 0.0
        self.lines = ["", "", ""]

    def set_progress(self, fraction: float, epoch: str, elapsed: str, remaining: str) -> None:
        self.fraction = max(0.0, min(1.0, fraction))
        self.lines = [f"{self.fraction:.0%}", epoch, f"{elapsed} · {remaining}"]
        self.update()

    def paintEvent(self, event):  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.Antialiasing)
        side = min(self.width(), self.height()) - 12
        rect = QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)
        painter.setPen(QPen(QColor("#dde3ec"), 10))
        painter.drawArc(rect, 0, 360 * 16)
        painter.setPen(QPen(QColor("#2a6fdb"), 10, Qt.SolidLine, Qt.RoundCap))
        painter.drawArc(rect, 90 * 16, -int(self.fraction * 360 * 16))
        painter.setPen(self.palette().windowText().color())
        font = painter.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        painter.setFont(font)
        painter.drawText(rect.adjusted(0, -side * 0.18, 0, -side * 0.18), Qt.AlignCenter, self.lines[0])
        font.setPointSizeF(font.pointSizeF() / 1.9)
        font.setBold(False)
        painter.setFont(font)
        painter.drawText(rect.adjusted(0, side * 0.12, 0, side * 0.12), Qt.AlignCenter, self.lines[1])
        painter.drawText(rect.adjusted(0, side * 0.28, 0, side * 0.28), Qt.AlignCenter, self.lines[2])
