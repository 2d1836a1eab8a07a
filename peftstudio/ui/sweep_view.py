"""A sweep's trials side by side: each trial's settings and objective (the best highlighted, pruned ones marked),
a scatter of any varied setting against the objective (pyqtgraph), "Keep the best" and the runs' comparison."""
from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QLabel, QPushButton,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from peftstudio.engine.errors import PlainError
from peftstudio.engine.planning import format_duration
from peftstudio.engine.training import keep_best, results

BEST, PRUNED, DONE = QColor("#e3f4e8"), QColor("#eeeeee"), "#2a6fdb"
MAX_COMPARED = 5  # the comparison view shows up to five runs: the best ones


def value_text(value) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


class SweepView(QWidget):
    def __init__(self, sweep_id: str, parent=None):
        super().__init__(parent)
        self.setObjectName("sweep_view")
        self.sweep_id = sweep_id
        self.windows: list[QWidget] = []
        layout = QVBoxLayout(self)
        self.heading = QLabel()
        self.heading.setObjectName("sweep.heading")
        self.heading.setTextFormat(Qt.PlainText)  # the title is the user's dataset name
        self.heading.setWordWrap(True)
        layout.addWidget(self.heading)
        body = QHBoxLayout()
        self.table = QTableWidget()
        self.table.setObjectName("sweep.trials")
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        body.addWidget(self.table, 3)
        side = QVBoxLayout()
        self.axis = QComboBox()
        self.axis.setObjectName("sweep.axis")
        self.axis.currentIndexChanged.connect(self._plot)
        side.addWidget(self.axis)
        self.plot = pg.PlotWidget(background="w")
        self.plot.setObjectName("sweep.scatter")
        self.plot.addLegend(offset=(-10, 10))
        for axis in ("left", "bottom"):
            self.plot.getAxis(axis).enableAutoSIPrefix(False)
        side.addWidget(self.plot, 1)
        body.addLayout(side, 2)
        layout.addLayout(body, 1)
        buttons = QHBoxLayout()
        self.keep_button = QPushButton("Keep the best")
        self.keep_button.setObjectName("sweep.keep_best")
        self.keep_button.setToolTip("Make the best trial a version of your model (the other trials stay in History).")
        self.keep_button.clicked.connect(lambda: self.keep())
        self.compare_button = QPushButton("Compare the best trials")
        self.compare_button.setObjectName("sweep.compare")
        self.compare_button.clicked.connect(lambda: self.compare())
        self.message = QLabel()
        self.message.setObjectName("sweep.message")
        self.message.setTextFormat(Qt.PlainText)
        for widget in (self.keep_button, self.compare_button):
            buttons.addWidget(widget)
        buttons.addWidget(self.message, 1)
        layout.addLayout(buttons)
        self.found = None
        self.refresh()

    def refresh(self) -> None:
        self.found = found = results(self.sweep_id)
        plan = found.plan
        done = sum(t.state not in ("waiting", "running") for t in found.trials)
        timing = ""
        if found.wall_seconds is not None:
            timing = f" Took {format_duration(found.wall_seconds)} so far (planned " \
                     f"{format_duration(found.planned_seconds)} in all)."
        self.setWindowTitle(f"Sweep: {plan.title}")
        self.heading.setText(f"{plan.title}: {done} of {len(found.trials)} trials ended. Best = "
                             f"{'lowest' if plan.direction == 'minimize' else 'highest'} {plan.objective}; "
                             f"search: {plan.sampler}; varies {'; '.join(d.describe() for d in plan.dimensions)}."
                             + timing)
        names = [d.name for d in plan.dimensions]
        columns = ["Trial", "State", plan.objective, *names]
        self.table.setColumnCount(len(columns))
        self.table.setHorizontalHeaderLabels(columns)
        self.table.setRowCount(len(found.trials))
        bold = QFont()
        bold.setBold(True)
        for row, trial in enumerate(found.trials):
            best = found.best is trial
            state = trial.state + (" (best)" if best else "")
            values = ["" if trial.number is None else str(trial.number + 1), state,
                      "" if trial.value is None else f"{trial.value:.4g}",
                      *[value_text(trial.params[n]) if n in trial.params else "" for n in names]]
            for col, text in enumerate(values):
                cell = QTableWidgetItem(text)
                if best:
                    cell.setFont(bold)
                    cell.setBackground(BEST)
                elif trial.state == "pruned":
                    cell.setForeground(QColor("#777777"))
                    cell.setBackground(PRUNED)
                self.table.setItem(row, col, cell)
        if self.axis.count() != len(names):
            self.axis.blockSignals(True)
            self.axis.clear()
            self.axis.addItems(names)
            self.axis.blockSignals(False)
        self._plot()
        self.keep_button.setEnabled(found.best is not None and not found.kept_run)
        if found.kept_run:
            self.message.setText(f"Kept: {found.kept_run}")

    def _plot(self) -> None:
        """The chosen setting against the objective; a pruned trial at its last reported validation loss."""
        self.plot.clear()
        if self.found is None or not self.axis.currentText():
            return
        name = self.axis.currentText()
        plan = self.found.plan
        self.plot.setLabel("bottom", name)
        self.plot.setLabel("left", plan.objective)
        self.plot.setLogMode(x=any(d.name == name and d.log for d in plan.dimensions), y=False)
        groups = {"finished": [], "pruned": [], "best": []}
        for trial in self.found.trials:
            x = trial.params.get(name)
            if not isinstance(x, (int, float)):  # a choice or a switch: its index among the values
                values = next((list(d.values) for d in plan.dimensions if d.name == name), [])
                x = values.index(x) if x in values else None
            y = trial.value if trial.value is not None else \
                (trial.intermediate[max(trial.intermediate)] if trial.intermediate else None)
            if x is None or y is None:
                continue
            key = "best" if self.found.best is trial else "pruned" if trial.state == "pruned" else "finished"
            groups[key].append((float(x), float(y)))
        styles = {"finished": dict(symbol="o", brush=DONE, size=10), "pruned": dict(symbol="x", brush="#b00020",
                  size=12), "best": dict(symbol="star", brush="#1b7f3b", size=16)}
        self.points = {}
        for key, points in groups.items():
            if points:
                item = pg.ScatterPlotItem([p[0] for p in points], [p[1] for p in points], name=key, pen=None,
                                          **styles[key])
                self.plot.addItem(item)
                self.points[key] = points

    def keep(self):
        try:
            version = keep_best(self.sweep_id)
        except PlainError as error:
            self.message.setText(f"{error.title}. {error.what}")
            return None
        self.refresh()
        self.message.setText(f"Kept as {version['model_name']} v{version['version']}.")
        return version

    def compare(self):
        from peftstudio.ui.compare import CompareView  # lazy: off the start-up path (bench/startup.py)

        scored = sorted((t for t in self.found.trials if t.value is not None and t.run_dir),
                        key=lambda t: t.value, reverse=self.found.plan.direction == "maximize")[:MAX_COMPARED]
        try:
            view = CompareView([Path(t.run_dir) for t in scored])
        except PlainError as error:
            self.message.setText(f"{error.title}. {error.what}")
            return None
        view.setWindowTitle(f"Compare: {self.found.plan.title}")
        view.resize(1200, 800)
        view.show()
        self.windows.append(view)
        return view
