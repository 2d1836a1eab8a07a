"""The Compare view: 2-5 runs side by side, a chart per key metric, the best run per metric, and the
settings that differ."""
from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QGridLayout, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from peftstudio.engine.history import METRICS, compare_runs

COLORS = ["#2a6fdb", "#d2691e", "#1b7f3b", "#7b3fb5", "#b00020"]


class CompareView(QWidget):
    def __init__(self, run_dirs: list[Path], parent=None):
        super().__init__(parent)
        self.setObjectName("compare")
        self.setWindowTitle("Compare runs")
        self.result = compare_runs(run_dirs)
        layout = QVBoxLayout(self)
        grid = QGridLayout()
        self.plots: dict[str, pg.PlotWidget] = {}
        for index, (name, chart) in enumerate(self.result["charts"].items()):
            plot = pg.PlotWidget(background="w", title=chart["label"])
            plot.setObjectName(f"compare.chart.{name}")
            plot.addLegend(offset=(-10, 10), brush=pg.mkBrush(255, 255, 255, 200))
            plot.setMinimumHeight(160)
            for side in ("left", "bottom"):  # plain numbers, not "(x0.001)" scaled axes
                plot.getAxis(side).enableAutoSIPrefix(False)
            for color, (run_id, points) in zip(COLORS, chart["runs"].items()):
                xs, ys = [p[0] for p in points], [p[1] for p in points]
                best = self.result["best"].get(name) == run_id
                pen = pg.mkPen(color, width=4 if best else 2)
                if len(points) > 1:
                    plot.plot(xs, ys, pen=pen, name=run_id + (" ★" if best else ""))
                else:  # a single value per run (peak memory, duration): a bar
                    plot.addItem(pg.BarGraphItem(x=[list(chart["runs"]).index(run_id)], height=ys, width=0.6,
                                                 brush=color))
            grid.addWidget(plot, index // 3, index % 3)
            self.plots[name] = plot
        layout.addLayout(grid, 2)
        layout.addWidget(QLabel("<b>Final values</b> (best in bold)"))
        runs = self.result["runs"]
        self.finals = QTableWidget(len(METRICS), len(runs))
        self.finals.setObjectName("compare.finals")
        self.finals.setHorizontalHeaderLabels(runs)
        self.finals.setVerticalHeaderLabels([label for label, _ in METRICS.values()])
        bold = QFont()
        bold.setBold(True)
        for row, name in enumerate(METRICS):
            for col, run_id in enumerate(runs):
                value = self.result["finals"][run_id][name]
                item = QTableWidgetItem("—" if value is None else f"{value:.4g}")
                if self.result["best"].get(name) == run_id:
                    item.setFont(bold)
                    item.setBackground(QColor("#e3f4e8"))
                self.finals.setItem(row, col, item)
        layout.addWidget(self.finals, 1)
        layout.addWidget(QLabel("<b>Settings that differ</b>"))
        diff = self.result["config_diff"]
        self.diff = QTableWidget(len(diff), len(runs))
        self.diff.setObjectName("compare.diff")
        self.diff.setHorizontalHeaderLabels(runs)
        self.diff.setVerticalHeaderLabels(list(diff))
        for row, values in enumerate(diff.values()):
            for col, run_id in enumerate(runs):
                self.diff.setItem(row, col, QTableWidgetItem(str(values.get(run_id))))
        layout.addWidget(self.diff, 1)
