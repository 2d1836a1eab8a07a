"""The History page: every run, searchable and filterable; open a run's dashboard or compare 2-5 runs."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit,
                               QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from peftstudio.engine.history import Store
from peftstudio.engine.runs import read_run_info
from peftstudio.ui.locales import STRINGS


def grouped_by_sweep(runs: list[dict]) -> list[dict]:
    """Newest first, with a sweep's trials together where its newest trial is (each run gets its `sweep` facts
    from its run folder)."""
    groups: dict[str, list[dict]] = {}
    order: list = []
    for run in runs:
        sweep = read_run_info(run["folder"]).get("sweep")
        run = {**run, "sweep": sweep}
        if sweep:
            if sweep["id"] not in groups:
                groups[sweep["id"]] = []
                order.append(sweep["id"])
            groups[sweep["id"]].append(run)
        else:
            order.append(run)
    grouped = []
    for entry in order:
        grouped.extend(sorted(groups[entry], key=lambda r: r["sweep"]["trial"]) if isinstance(entry, str) else [entry])
    return grouped


class HistoryPage(QWidget):
    COLUMNS = ["Run", "Model", "Status", "Final loss", "Version", "Sweep"]

    def __init__(self, store: Store, parent=None):
        super().__init__(parent)
        self.setObjectName("history")
        self.setWindowTitle("History")
        self.store = store
        self.windows: list[QWidget] = []
        layout = QVBoxLayout(self)
        filters = QHBoxLayout()
        self.search = QLineEdit()
        self.search.setObjectName("history.search")
        self.search.setPlaceholderText("Search runs, models, datasets")
        self.search.textChanged.connect(self.refresh)
        self.model_filter = QComboBox()
        self.model_filter.setObjectName("history.model")
        self.status_filter = QComboBox()
        self.status_filter.setObjectName("history.status")
        self.status_filter.addItems(["all statuses", "completed", "running", "paused", "stopped", "failed"])
        for combo in (self.model_filter, self.status_filter):
            combo.currentIndexChanged.connect(self.refresh)
        filters.addWidget(self.search, 2)
        filters.addWidget(self.model_filter, 1)
        filters.addWidget(self.status_filter, 1)
        layout.addLayout(filters)
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setObjectName("history.table")
        self.table.setHorizontalHeaderLabels(self.COLUMNS)
        header = self.table.horizontalHeader()  # run ids and model names are long; nothing is cut off
        header.setSectionResizeMode(QHeaderView.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.Stretch)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.MultiSelection)
        self.table.cellDoubleClicked.connect(lambda row, _: self.open_dashboard(row))
        layout.addWidget(self.table, 1)
        buttons = QHBoxLayout()
        self.compare_button = QPushButton("Compare selected (2-5)")
        self.compare_button.setObjectName("history.compare")
        self.compare_button.clicked.connect(self.compare_selected)
        buttons.addWidget(self.compare_button)
        self.playground_button = QPushButton(STRINGS["history.playground"])
        self.playground_button.setObjectName("history.playground")
        self.playground_button.clicked.connect(self.open_playground_selected)
        buttons.addWidget(self.playground_button)
        self.sweep_button = QPushButton("Open sweep")
        self.sweep_button.setObjectName("history.sweep")
        self.sweep_button.setToolTip("The selected trial's sweep: every trial, the best, Keep the best")
        self.sweep_button.clicked.connect(lambda: self.open_sweep_selected())
        buttons.addWidget(self.sweep_button)
        self.export_button = QPushButton(STRINGS["history.export"])
        self.export_button.setObjectName("history.export")
        self.export_button.clicked.connect(self.export_selected)
        buttons.addWidget(self.export_button)
        self.message = QLabel()
        self.message.setTextFormat(Qt.PlainText)
        self.message.setObjectName("history.message")
        buttons.addWidget(self.message, 1)
        layout.addLayout(buttons)
        self._models_loaded = False
        self.refresh()

    def refresh(self) -> None:
        if not self._models_loaded:
            models = sorted({r["model_name"] for r in self.store.runs() if r["model_name"]})
            self.model_filter.blockSignals(True)
            self.model_filter.addItems(["all models", *models])
            self.model_filter.blockSignals(False)
            self._models_loaded = True
        model = self.model_filter.currentText() if self.model_filter.currentIndex() > 0 else None
        status = self.status_filter.currentText() if self.status_filter.currentIndex() > 0 else None
        self.rows = grouped_by_sweep(self.store.runs(model_name=model, status=status, search=self.search.text()))
        self.table.setRowCount(len(self.rows))
        for i, run in enumerate(self.rows):
            summary = run.get("summary") or {}
            final = summary.get("final_loss")
            sweep = run.get("sweep") or {}
            values = [run["id"], run["model_name"] or "", run["status"] or "",
                      "" if final is None else f"{final:.4f}", summary.get("version", ""),
                      f"{sweep['id']} trial {sweep['trial'] + 1}" + (f" ({sweep['state']})" if sweep.get("state")
                                                                       else "") if sweep else ""]
            for col, value in enumerate(values):
                item = QTableWidgetItem(str(value))
                item.setData(Qt.UserRole, run["folder"])
                self.table.setItem(i, col, item)

    def open_sweep_selected(self):
        from peftstudio.ui.sweep_view import SweepView  # lazy: defers pyqtgraph
        from peftstudio.ui.windows import show_once  # lazy: off the start-up path (bench/startup.py)

        rows = sorted({index.row() for index in self.table.selectedIndexes()})
        sweeps = {(self.rows[r].get("sweep") or {}).get("id") for r in rows} - {None}
        if len(sweeps) != 1:
            self.message.setText("Select a trial of one sweep.")
            return None
        self.message.clear()
        sweep_id = sweeps.pop()

        def make():
            view = SweepView(sweep_id)
            view.resize(1100, 700)
            self.windows.append(view)
            return view

        return show_once(("sweep", sweep_id), make)

    def selected_folders(self) -> list[Path]:
        rows = sorted({index.row() for index in self.table.selectedIndexes()})
        return [Path(self.rows[r]["folder"]) for r in rows]

    def open_dashboard(self, row: int):
        from peftstudio.ui.dashboard import DashboardWidget  # lazy: defers pyqtgraph
        from peftstudio.ui.windows import show_once  # lazy: off the start-up path (bench/startup.py)

        folder = Path(self.rows[row]["folder"])

        def make():
            dashboard = DashboardWidget(notifications_enabled=False)
            dashboard.setWindowTitle(f"Run {self.rows[row]['id']}")
            dashboard.load_run(folder)
            self.windows.append(dashboard)
            return dashboard

        return show_once(("dashboard", str(folder.resolve())), make)

    def open_playground_selected(self):
        from peftstudio.ui.playground import PlaygroundWidget  # lazy: off the start-up path (bench/startup.py)
        from peftstudio.ui.windows import show_once  # lazy: off the start-up path (bench/startup.py)

        folders = self.selected_folders()
        if len(folders) != 1:
            self.message.setText(STRINGS["history.playground_one"])
            return None
        self.message.clear()

        def make():
            playground = PlaygroundWidget(folders[0])
            playground.resize(1100, 700)
            self.windows.append(playground)
            return playground

        return show_once(("playground", str(folders[0].resolve())), make)

    def export_selected(self):
        from peftstudio.ui.export_dialog import ExportDialog  # lazy: off the start-up path (bench/startup.py)

        folders = self.selected_folders()
        if len(folders) != 1:
            self.message.setText(STRINGS["history.export_one"])
            return None
        self.message.clear()
        dialog = ExportDialog(folders[0], self)
        dialog.show()
        self.windows.append(dialog)
        return dialog

    def compare_selected(self):
        from peftstudio.engine.errors import PlainError  # lazy: off the start-up path (bench/startup.py)
        from peftstudio.ui.compare import CompareView  # lazy: defers pyqtgraph

        try:
            view = CompareView(self.selected_folders())
        except PlainError as error:
            self.message.setText(f"{error.title}: {error.what}")
            return None
        self.message.clear()
        view.resize(1200, 800)
        view.show()
        self.windows.append(view)
        return view
