"""The settings dialog: one row per application setting, built from its declaration (engine/app_settings.py)."""
from __future__ import annotations

from dataclasses import replace

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout

from peftstudio.engine.app_settings import AppSettings, app_settings_declared
from peftstudio.ui.declared_field import value_of, widget_for
from peftstudio.ui.locales import STRINGS


class SettingsDialog(QDialog):
    def __init__(self, settings: AppSettings, parent=None):
        super().__init__(parent)
        self.setWindowTitle(STRINGS["settings.title"])
        self.setObjectName("settings_dialog")
        self.original = settings
        form = QFormLayout(self)
        self.specs = [spec for spec in app_settings_declared() if spec.editable_by == "user"]
        self.widgets = {spec.name: widget_for(spec, getattr(settings, spec.name), "settings") for spec in self.specs}
        for spec in self.specs:
            form.addRow(spec.label, self.widgets[spec.name])
        buttons = QDialogButtonBox(QDialogButtonBox.Save | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def value(self) -> AppSettings:
        return replace(self.original, **{spec.name: value_of(spec, self.widgets[spec.name]) for spec in self.specs})
