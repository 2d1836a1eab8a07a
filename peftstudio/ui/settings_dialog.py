"""The settings dialog: data folder, electricity price, grid carbon intensity, HF token, theme, notifications."""
from __future__ import annotations

from dataclasses import replace

from PySide6.QtWidgets import QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QLineEdit

from peftstudio.engine.app_settings import AppSettings
from peftstudio.ui.locales import STRINGS


class SettingsDialog(QDialog):
    def __init__(self, settings: AppSettings, parent=None):
        super().__init__(parent)
        self.setWindowTitle(STRINGS["settings.title"])
        self.setObjectName("settings_dialog")
        self.original = settings
        form = QFormLayout(self)
        self.data_folder = QLineEdit(settings.data_folder)
        self.data_folder.setPlaceholderText("default (platform data folder)")
        self.data_folder.setToolTip("Where runs, presets and the history are kept. Takes effect at the next start.")
        self.price = QDoubleSpinBox()
        self.price.setRange(0, 10)
        self.price.setDecimals(3)
        self.price.setValue(settings.electricity_price)
        self.price.setToolTip("What one kWh of electricity costs you; used for cost estimates.")
        self.carbon = QDoubleSpinBox()
        self.carbon.setRange(0, 2)
        self.carbon.setDecimals(3)
        self.carbon.setValue(settings.carbon_intensity)
        self.carbon.setToolTip("kg of CO2 per kWh of your electricity grid (0.4 is a world average).")
        self.token = QLineEdit(settings.hf_token)
        self.token.setEchoMode(QLineEdit.Password)
        self.token.setToolTip("Optional. Needed for gated models (Llama, Gemma, Mistral) and to upload models.")
        self.theme = QComboBox()
        self.theme.addItems(["system", "light", "dark"])
        self.theme.setCurrentText(settings.theme)
        self.notifications = QCheckBox()
        self.notifications.setChecked(settings.notifications)
        self.evaluate = QCheckBox()
        self.evaluate.setObjectName("settings.evaluate_after_run")
        self.evaluate.setChecked(settings.evaluate_after_run)
        self.evaluate.setToolTip("When a run completes, score it on its held-back examples and on general skills "
                                 "(a few minutes on a laptop; it can be cancelled).")
        for label, widget in (("Data folder", self.data_folder), ("Electricity price per kWh", self.price),
                              ("Grid carbon intensity (kg CO2/kWh)", self.carbon),
                              ("Hugging Face token", self.token), ("Theme", self.theme),
                              ("Desktop notifications", self.notifications),
                              ("Score each run when it completes", self.evaluate)):
            form.addRow(label, widget)
        buttons = QDialogButtonBox(QDialogButtonBox.Save | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def value(self) -> AppSettings:
        return replace(self.original, data_folder=self.data_folder.text().strip(), electricity_price=self.price.value(),
                       carbon_intensity=self.carbon.value(), hf_token=self.token.text().strip(),
                       theme=self.theme.currentText(), notifications=self.notifications.isChecked(),
                       evaluate_after_run=self.evaluate.isChecked())
