"""The home page's queue: the runs waiting their turn with their estimated start and end, and the controls."""
from __future__ import annotations

import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QPushButton, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from peftstudio.engine.planning import format_duration


def clock(seconds: float) -> str:
    return time.strftime("%a %H:%M", time.localtime(seconds))


class QueuePanel(QWidget):
    COLUMNS = ["#", "Run", "State", "Starts", "Ends"]
    start_requested = Signal()
    pause_requested = Signal()
    sweep_requested = Signal(str)  # a sweep's trial was opened: show the sweep

    def __init__(self, queue, parent=None):
        super().__init__(parent)
        self.setObjectName("home.queue")
        self.queue = queue
        self.running = False
        self.current_id: int | None = None
        self.current_started: float | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        header = QHBoxLayout()
        title = QLabel("<b>Queue</b>")
        header.addWidget(title)
        self.summary = QLabel()
        self.summary.setObjectName("home.queue.summary")
        self.summary.setTextFormat(Qt.PlainText)
        header.addWidget(self.summary, 1)
        layout.addLayout(header)
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setObjectName("home.queue.table")
        self.table.setHorizontalHeaderLabels(self.COLUMNS)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.Stretch)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setMaximumHeight(150)
        self.table.cellDoubleClicked.connect(self._opened)
        self.table.itemSelectionChanged.connect(self.refresh_buttons)
        layout.addWidget(self.table)
        buttons = QHBoxLayout()
        self.start_button = self._button("Start queue", "home.queue.start", self.start_requested.emit, buttons)
        self.pause_button = self._button("Pause queue", "home.queue.pause", self.pause_requested.emit, buttons)
        self.up_button = self._button("Move up", "home.queue.up", lambda: self._move(-1), buttons)
        self.down_button = self._button("Move down", "home.queue.down", lambda: self._move(1), buttons)
        self.remove_button = self._button("Remove", "home.queue.remove", self._remove, buttons)
        buttons.addStretch()
        layout.addLayout(buttons)
        self.items = []
        self.refresh()

    def _button(self, text, name, slot, row) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(name)
        button.clicked.connect(lambda: slot())
        row.addWidget(button)
        return button

    def set_running(self, running: bool, current=None) -> None:
        self.running = running
        self.current_id = current.id if current is not None else None
        self.current_started = time.time() if current is not None else None
        self.refresh()

    def refresh(self) -> None:
        elapsed = {self.current_id: time.time() - self.current_started} if self.current_id is not None else {}
        scheduled = self.queue.schedule(elapsed=elapsed)
        self.items = [s.item for s in scheduled]
        self.table.setRowCount(len(scheduled))
        for row, s in enumerate(scheduled):
            state = "training" if s.item.id == self.current_id else \
                ("interrupted" if s.item.state == "running" else s.item.state)
            values = [str(s.item.id), s.item.title, state, clock(s.start), clock(s.end)]
            for col, value in enumerate(values):
                cell = QTableWidgetItem(value)
                cell.setData(Qt.UserRole, s.item.id)
                self.table.setItem(row, col, cell)
        paused = self.queue.paused()
        if not scheduled:
            self.summary.setText("Empty. Add runs from the wizard (Add to queue) or Versions.")
        else:
            self.summary.setText(f"{len(scheduled)} run(s); the last ends about {clock(scheduled[-1].end)} "
                                 f"(about {format_duration(scheduled[-1].end - time.time())} from now)"
                                 + ("; running" if self.running else "; paused" if paused else "; not started"))
        for widget in (self.table, self.start_button, self.pause_button, self.up_button, self.down_button,
                       self.remove_button):
            widget.setVisible(bool(scheduled) or self.running)  # an empty queue is one line on the home page
        self.start_button.setEnabled(not self.running and bool(scheduled))
        self.pause_button.setEnabled(self.running)
        self.refresh_buttons()

    def selected(self):
        row = self.table.currentRow()
        return self.items[row] if 0 <= row < len(self.items) else None

    def select(self, item_id: int) -> None:
        for row, item in enumerate(self.items):
            if item.id == item_id:
                self.table.selectRow(row)
                self.table.setCurrentCell(row, 0)
        self.refresh_buttons()

    def refresh_buttons(self) -> None:
        selected = self.selected()
        for button in (self.up_button, self.down_button, self.remove_button):
            button.setEnabled(selected is not None and selected.state == "waiting")

    def _move(self, offset: int) -> None:
        selected = self.selected()
        if selected is None:
            return
        waiting = [i for i in self.items if i.state == "waiting"]
        place = waiting.index(selected) + 1 + offset
        self.queue.move(selected.id, max(1, place))
        self.refresh()
        self.select(selected.id)

    def _remove(self) -> None:
        selected = self.selected()
        if selected is not None:
            self.queue.remove(selected.id)
            self.refresh()

    def _opened(self, row: int, _column: int) -> None:
        if 0 <= row < len(self.items) and self.items[row].sweep_id:
            self.sweep_requested.emit(self.items[row].sweep_id)
