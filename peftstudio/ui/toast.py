"""A toast: a message box inside the dashboard with the suggested actions as buttons."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout


class Toast(QFrame):
    action_chosen = Signal(str)  # the action id

    def __init__(self, title: str, message: str, actions: list[dict], urgent: bool = False, parent=None):
        super().__init__(parent)
        self.setObjectName("dashboard.toast")
        color = "#fdecea" if urgent else "#fff7e0"
        self.setStyleSheet(f"QFrame#dashboard\\.toast {{ background: {color}; border: 1px solid #d9a400; "
                           "border-radius: 8px; }")
        layout = QVBoxLayout(self)
        # plain text: titles and messages quote model answers, dataset rows and file names
        heading = QLabel(title)
        heading.setTextFormat(Qt.PlainText)
        font = heading.font()
        font.setBold(True)
        heading.setFont(font)
        layout.addWidget(heading)
        text = QLabel(message)
        text.setTextFormat(Qt.PlainText)
        text.setWordWrap(True)
        layout.addWidget(text)
        row = QHBoxLayout()
        self.buttons: list[QPushButton] = []
        for action in actions + [{"id": "dismiss", "label": "Dismiss"}]:
            button = QPushButton(action["label"])
            button.setObjectName(f"toast.{action['id']}")
            button.clicked.connect(lambda _=False, a=action["id"]: self._chosen(a))
            row.addWidget(button)
            self.buttons.append(button)
        row.addStretch()
        layout.addLayout(row)

    def _chosen(self, action_id: str) -> None:
        self.action_chosen.emit(action_id)
        self.hide()
        self.deleteLater()
