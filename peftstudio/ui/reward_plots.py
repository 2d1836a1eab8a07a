"""A GRPO run's curves on the dashboard: the mean reward with its spread within groups (the band) and each
reward's own mean; the KL distance from the base model; the mean answer length."""
from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6 import QtCore
from PySide6.QtWidgets import QHBoxLayout, QWidget

from peftstudio.ui.plots import curve, plot_widget

REWARD_COLORS = ["#00838f", "#c2185b", "#6a1b9a", "#ef6c00", "#2e7d32", "#5d4037"]


class RewardPlots(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.reward_plot = plot_widget("Reward", "mean reward")
        self.reward_plot.setObjectName("dashboard.reward")
        self.reward_plot.addLegend(offset=(10, 10), brush=pg.mkBrush(255, 255, 255, 200))
        self.reward_curve = curve(self.reward_plot, "#2a6fdb", "total")
        # the spread within groups, as a band: GRPO learns only where answers to one prompt differ
        self.upper, self.lower = self.reward_plot.plot(pen=None), self.reward_plot.plot(pen=None)
        self.spread = pg.FillBetweenItem(self.upper, self.lower, brush=pg.mkBrush(42, 111, 219, 50))
        self.reward_plot.addItem(self.spread)
        self.by_reward: dict[str, pg.PlotDataItem] = {}
        self.kl_plot = plot_widget("Distance from the base model", "KL")
        self.kl_plot.setObjectName("dashboard.kl")
        self.kl_curve = curve(self.kl_plot, "#7b3fb5")
        self.length_plot = plot_widget("Answer length", "tokens")
        self.length_plot.setObjectName("dashboard.completion_length")
        self.length_curve = curve(self.length_plot, "#555555")
        for plot in (self.reward_plot, self.kl_plot, self.length_plot):
            layout.addWidget(plot)

    def show_series(self, series) -> None:
        steps = series.reward_steps
        self.reward_curve.setData(steps, series.reward)
        self.upper.setData(steps, [m + s for m, s in zip(series.reward, series.reward_std)])
        self.lower.setData(steps, [m - s for m, s in zip(series.reward, series.reward_std)])
        if len(series.by_reward) > 1:  # with one reward its curve is the total's
            for index, (label, values) in enumerate(series.by_reward.items()):
                if label not in self.by_reward:
                    color = REWARD_COLORS[index % len(REWARD_COLORS)]
                    self.by_reward[label] = self.reward_plot.plot(pen=pg.mkPen(color, width=1.5, style=QtCore.Qt.PenStyle.DashLine),
                                                                  name=label, connect="finite")
                shown = [(s, v) for s, v in zip(steps, values) if not math.isnan(v)]
                self.by_reward[label].setData([s for s, _ in shown], [v for _, v in shown])
        self.kl_curve.setData(steps, series.kl)
        self.length_curve.setData(steps, series.completion_length)
