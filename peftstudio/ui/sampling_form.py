"""The playground's sampling settings, one row per declaration in engine/sampling.py."""
from __future__ import annotations

from dataclasses import replace

from PySide6.QtWidgets import QFormLayout, QWidget

from peftstudio.engine.sampling import Sampling, sampling_settings
from peftstudio.ui.declared_field import value_of, widget_for


class SamplingForm(QWidget):
    def __init__(self, initial: Sampling, parent=None):
        super().__init__(parent)
        self.setObjectName("playground.sampling")
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        self.widgets = {spec.name: widget_for(spec, getattr(initial, spec.name), "playground")
                        for spec in sampling_settings()}
        for spec in sampling_settings():
            form.addRow(spec.label, self.widgets[spec.name])

    def value(self) -> Sampling:
        return replace(Sampling(), **{spec.name: value_of(spec, self.widgets[spec.name])
                                      for spec in sampling_settings()})
