"""The dashboard's plot and curve, one look for every chart (pyqtgraph)."""
from __future__ import annotations

import pyqtgraph as pg


def plot_widget(title: str, left: str) -> pg.PlotWidget:
    plot = pg.PlotWidget(background="w", title=title)
    plot.setLabel("left", left)
    plot.setLabel("bottom", "step")
    plot.showGrid(x=True, y=True, alpha=0.2)
    plot.setMinimumHeight(150)
    for side in ("left", "bottom"):  # "steps/s (x0.001)" reads as a different unit: show plain numbers
        plot.getAxis(side).enableAutoSIPrefix(False)
    return plot


def curve(plot: pg.PlotWidget, color: str, name: str | None = None):
    item = plot.plot(pen=pg.mkPen(color, width=2), name=name)
    item.setDownsampling(auto=True, method="peak")  # smooth with 100,000 points
    item.setClipToView(True)
    return item
