"""Desktop notifications through the system tray, or an in-app panel where there is no tray."""
from __future__ import annotations

from PySide6.QtWidgets import QApplication, QListWidget, QStyle, QSystemTrayIcon


class Notifier:
    def __init__(self, panel: QListWidget, enabled: bool = True):
        self.panel = panel
        self.enabled = enabled
        self.sent: list[dict] = []  # everything shown, in order (the panel mirrors it)
        self.tray = None
        if QSystemTrayIcon.isSystemTrayAvailable():
            self.tray = QSystemTrayIcon(QApplication.instance().style().standardIcon(QStyle.SP_ComputerIcon))
            self.tray.show()

    def notify(self, note: dict) -> None:
        if not self.enabled:
            return
        self.sent.append(note)
        prefix = "⚠ " if note.get("urgent") else ""
        self.panel.insertItem(0, f"{prefix}{note['title']}: {note['message']}")
        if self.tray is not None:
            icon = QSystemTrayIcon.Critical if note.get("urgent") else QSystemTrayIcon.Information
            self.tray.showMessage(note["title"], note["message"], icon, 10_000 if note.get("urgent") else 4_000)
