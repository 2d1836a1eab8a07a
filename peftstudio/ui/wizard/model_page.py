"""Step 3: the model. Curated catalog, models on this machine, and hub search when online.

The rows (fit badges by the planner's own budget, export notes from the exporter's table) come from the
engine's WizardModel; this page only shows them and reports the choice."""
from __future__ import annotations

import os

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWizardPage,
)

from peftstudio.engine.models import hub_search
from peftstudio.engine.planning import FITS, NEEDS_4BIT, TOO_LARGE
from peftstudio.ui.locales import STRINGS
from peftstudio.ui.tasks import run_in_background


class ModelPage(QWizardPage):
    COLUMNS = ["Model", "Parameters", "Memory to train", "On this machine", "Notes"]

    def __init__(self, wizard):
        super().__init__()
        self.wiz = wizard
        self.setTitle(STRINGS["wizard.model.title"])
        self.setSubTitle(STRINGS["wizard.model.subtitle"])
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.search = QLineEdit()
        self.search.setObjectName("model.search")
        self.search.setPlaceholderText(STRINGS["wizard.model.search"])
        self.search.textChanged.connect(self._filter)
        row.addWidget(self.search, 1)
        self.hub_button = QPushButton(STRINGS["wizard.model.hub"])
        self.hub_button.setObjectName("model.hub")
        self.hub_button.clicked.connect(self._search_hub)
        row.addWidget(self.hub_button)
        self.local_button = QPushButton(STRINGS["wizard.model.local"])
        self.local_button.setObjectName("model.local")
        self.local_button.clicked.connect(self._choose_local)
        row.addWidget(self.local_button)
        layout.addLayout(row)
        self.notice = QLabel()
        self.notice.setObjectName("model.notice")
        self.notice.setWordWrap(True)
        layout.addWidget(self.notice)
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setObjectName("model.table")
        self.table.setHorizontalHeaderLabels(self.COLUMNS)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QTableWidget.SelectRows)
        self.table.setSelectionMode(QTableWidget.SingleSelection)
        self.table.itemSelectionChanged.connect(self._selected)
        layout.addWidget(self.table, 1)
        self.warning = QLabel()
        self.warning.setTextFormat(Qt.PlainText)
        self.warning.setObjectName("model.warning")
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet("color: #a15c00;")
        layout.addWidget(self.warning)
        self.message = QLabel()
        self.message.setTextFormat(Qt.PlainText)
        self.message.setObjectName("model.message")
        self.message.setStyleSheet("color: #b00020;")
        layout.addWidget(self.message)
        self.rows: list[dict] = []
        self._task = None

    def initializePage(self) -> None:  # noqa: N802
        if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
            self.notice.setText(STRINGS["wizard.model.offline"])
            self.hub_button.setEnabled(False)
        self._populate()

    def _populate(self) -> None:
        self.rows = self.wiz.model.model_rows()
        self._fill()

    def _fill(self) -> None:
        self.table.blockSignals(True)
        self.table.setRowCount(len(self.rows))
        colors = {FITS: "#1b7f3b", NEEDS_4BIT: "#a15c00", TOO_LARGE: "#b00020"}
        for i, row in enumerate(self.rows):
            params = f"{row['params'] / 1e9:.2f} B" if row["params"] else "?"
            need = f"{row['need'] / 2**30:.1f} GB" if row["need"] else "?"
            for col, value in enumerate((row["name"], params, need, row["badge"], row["notes"])):
                item = QTableWidgetItem(value)
                item.setData(Qt.UserRole, row["id"])
                item.setToolTip(row["id"])
                if col == 3 and row["badge"] in colors:
                    item.setForeground(QColor(colors[row["badge"]]))
                self.table.setItem(i, col, item)
        self.table.resizeColumnsToContents()
        self.table.blockSignals(False)
        self._select(self.wiz.state.model_id)
        self._filter(self.search.text())

    def _select(self, model_id: str) -> None:
        for i, row in enumerate(self.rows):
            if row["id"] == model_id:
                self.table.selectRow(i)
                return

    def _filter(self, text: str) -> None:
        text = text.lower()
        for i, row in enumerate(self.rows):
            self.table.setRowHidden(i, bool(text) and text not in f"{row['name']} {row['id']}".lower())

    def _selected(self) -> None:
        items = self.table.selectedItems()
        if not items:
            return
        model_id = items[0].data(Qt.UserRole)
        self.message.clear()
        row = next(r for r in self.rows if r["id"] == model_id)
        self.warning.setText(row["notes"] if any(w in row["notes"] for w in ("token", "export", "template")) else "")
        if model_id != self.wiz.state.model_id:
            self.wiz.model.model_changed(model_id)

    def _choose_local(self) -> None:
        path = QFileDialog.getExistingDirectory(self, STRINGS["wizard.model.local"])
        if not path:
            path, _ = QFileDialog.getOpenFileName(self, STRINGS["wizard.model.local"], "", "GGUF (*.gguf)")
        if path:
            self.add_local_model(path)

    def add_local_model(self, path: str) -> None:
        try:
            row = self.wiz.model.local_model_row(path)
        except Exception as exc:  # noqa: BLE001 - PlainError
            self.message.setText(str(exc))
            return
        self.rows.append(row)
        self.wiz.model.model_changed(path)
        self._fill()

    def _search_hub(self) -> None:
        self.notice.setText("Searching the Hub...")
        self._task = run_in_background(hub_search, self.search.text() or "instruct", on_done=self._hub_results,
                                       on_error=lambda e: self.notice.setText(STRINGS["wizard.model.offline"]))

    def _hub_results(self, ids: list[str]) -> None:
        self.notice.setText(f"{len(ids)} models found on the Hub (sizes are checked when you pick one).")
        for model_id in ids:
            if all(r["id"] != model_id for r in self.rows):
                self.rows.append({"id": model_id, "name": model_id, "params": None, "need": None, "badge": "hub",
                                  "notes": "from the Hub"})
        self._fill()

    def validatePage(self) -> bool:  # noqa: N802
        row = next((r for r in self.rows if r["id"] == self.wiz.state.model_id), None)
        if row is None:
            self.message.setText(STRINGS["wizard.model.pick"])
            return False
        if row["badge"] == TOO_LARGE:
            self.message.setText(STRINGS["wizard.model.too_large"])
            return False
        return True
