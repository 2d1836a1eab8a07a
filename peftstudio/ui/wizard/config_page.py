"""Step 4: the settings. The planner's values, each with its reason and a plain-language tooltip."""
from __future__ import annotations

import html

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from peftstudio.engine.config import form_settings
from peftstudio.engine.planning import energy_text, method_notes, time_text
from peftstudio.engine.settings import LAYER_CHOICES, Setting
from peftstudio.ui.locales import STRINGS

SPECS = {spec.name: spec for spec in form_settings()}
QT_INT_MAX = 2**31 - 1  # a QSpinBox holds a 32-bit int; larger declared maxima are cut to it


class ConfigPage(QWizardPage):
    def __init__(self, wizard):
        super().__init__()
        self.wiz = wizard
        self.setTitle(STRINGS["wizard.config.title"])
        self.setSubTitle(STRINGS["wizard.config.subtitle"])
        self.widgets: dict[str, QWidget] = {}
        self.why: dict[str, QLabel] = {}
        self._loading = False
        outer = QVBoxLayout(self)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.NoFrame)
        content = QWidget()
        scroll.setWidget(content)
        outer.addWidget(scroll, 1)
        layout = QVBoxLayout(content)
        basic = QFormLayout()
        layout.addLayout(basic)
        self.advanced_toggle = QToolButton()
        self.advanced_toggle.setObjectName("config.advanced_toggle")
        self.advanced_toggle.setText("▸ " + STRINGS["wizard.config.advanced"])
        self.advanced_toggle.setCheckable(True)
        self.advanced_toggle.toggled.connect(self._toggle_advanced)
        layout.addWidget(self.advanced_toggle)
        self.advanced = QGroupBox()
        self.advanced.setObjectName("config.advanced")
        advanced = QFormLayout(self.advanced)
        self.advanced.setVisible(False)
        layout.addWidget(self.advanced)
        for spec in form_settings():  # every widget, label, range and tooltip comes from the settings table
            name = spec.name
            widget = self._make(spec)
            widget.setObjectName(f"train.{name}")
            widget.setMinimumWidth(120)
            widget.setToolTip(spec.help)
            why = QLabel()
            why.setObjectName(f"why.{name}")
            why.setStyleSheet("color: #666; font-size: 11px;")
            why.setWordWrap(True)
            row = QWidget()
            row_layout = QHBoxLayout(row)
            row_layout.setContentsMargins(0, 0, 0, 0)
            row_layout.addWidget(widget)
            row_layout.addWidget(why, 1)
            caption = QLabel(spec.label + (f" ({spec.unit})" if spec.unit and spec.kind != "int" else ""))
            caption.setToolTip(spec.help)
            (advanced if spec.advanced else basic).addRow(caption, row)
            self.widgets[name], self.why[name] = widget, why
            if spec.multi_gpu:
                gpus = len(self.wiz.hardware.gpus) if self.wiz.hardware.cuda_available else 0
                (advanced if spec.advanced else basic).setRowVisible(row, gpus > 1)
                if name == "num_processes":
                    widget.setRange(1, max(1, gpus))
        self.estimates = QLabel()
        self.estimates.setObjectName("config.estimates")
        self.estimates.setWordWrap(True)
        self.estimates.setStyleSheet("font-weight: 600; padding: 6px; background: #f2f5fa; border-radius: 6px;")
        outer.addWidget(self.estimates)
        sweep_row = QHBoxLayout()
        self.sweep_button = QPushButton(STRINGS["wizard.config.sweep"])
        self.sweep_button.setObjectName("config.sweep")
        self.sweep_button.setToolTip("Not sure which settings are best? Queue several trials with different values; "
                                     "hopeless ones stop early, and you keep the best.")
        self.sweep_button.clicked.connect(lambda: self.open_sweep_dialog())
        sweep_row.addWidget(self.sweep_button)
        sweep_row.addStretch()
        outer.addLayout(sweep_row)
        layout.addStretch()

    def _make(self, spec: Setting):
        name = spec.name
        if spec.kind == "int":
            widget = QSpinBox()
            low = 0 if spec.optional else int(spec.minimum or 0)  # 0 shows "none" (max_steps: by epochs)
            widget.setRange(low, int(min(spec.maximum if spec.maximum is not None else QT_INT_MAX, QT_INT_MAX)))
            if spec.unit:
                widget.setSuffix(f" {spec.unit}")
            widget.valueChanged.connect(lambda _=0, n=name: self._edited(n))
        elif spec.kind == "float":
            widget = QDoubleSpinBox()
            widget.setDecimals(spec.decimals)
            smallest = 10 ** -spec.decimals
            low = (spec.minimum or 0.0) + (smallest if spec.min_exclusive else 0.0)
            high = (spec.maximum if spec.maximum is not None else 1e9) - (smallest if spec.max_exclusive else 0.0)
            widget.setRange(low, high)
            widget.setSingleStep(spec.step)
            widget.valueChanged.connect(lambda _=0, n=name: self._edited(n))
        elif spec.kind in ("choice", "layers"):
            widget = QComboBox()
            widget.addItems(([spec.none_label] if spec.optional else []) + list(spec.choices))
            widget.currentIndexChanged.connect(lambda _=0, n=name: self._edited(n))
        elif spec.kind == "bool":
            widget = QCheckBox()
            widget.toggled.connect(lambda _=False, n=name: self._edited(n))
        else:
            widget = QLineEdit()
            widget.textEdited.connect(lambda _="", n=name: self._edited(n))
        return widget

    def _toggle_advanced(self, shown: bool) -> None:
        self.advanced.setVisible(shown)
        self.advanced_toggle.setText(("▾ " if shown else "▸ ") + STRINGS["wizard.config.advanced"])

    # ---- planner values in, user values out ------------------------------------------------
    def initializePage(self) -> None:  # noqa: N802
        plan = self.wiz.model.replan()
        self._loading = True
        for name, widget in self.widgets.items():
            self._set(widget, name, getattr(self.wiz.state.config, name))
            self.why[name].setText(plan.reasons.get(name, ""))
        self._loading = False
        self._update_estimates()

    def _set(self, widget, name, value) -> None:
        if isinstance(widget, QSpinBox):
            widget.setValue(int(value or 0))
        elif isinstance(widget, QDoubleSpinBox):
            widget.setValue(float(value))
        elif isinstance(widget, QCheckBox):
            widget.setChecked(bool(value))
        elif isinstance(widget, QComboBox):
            if name == "target_modules":
                value = next((k for k, v in LAYER_CHOICES.items() if v == value), "All linear layers")
            widget.setCurrentText(SPECS[name].none_label if value is None else str(value))
        else:
            widget.setText(value or "")
            widget.setCursorPosition(0)  # a long text shows its beginning

    def value_of(self, name: str):
        widget = self.widgets[name]
        if isinstance(widget, QSpinBox):
            value = widget.value()
            return (value or None) if SPECS[name].optional else value
        if isinstance(widget, QDoubleSpinBox):
            return widget.value()
        if isinstance(widget, QCheckBox):
            return widget.isChecked()
        if isinstance(widget, QComboBox):
            text = widget.currentText()
            if name == "target_modules":
                return list(LAYER_CHOICES[text])
            return None if SPECS[name].optional and text == SPECS[name].none_label else text
        return widget.text() or None

    def _edited(self, name: str) -> None:
        if self._loading:
            return
        self.wiz.model.set_setting(name, self.value_of(name))
        self._refresh_from_plan()

    def _refresh_from_plan(self) -> None:
        """Re-plan after an edit: the settings the user did not touch follow (warm-up follows the steps, the
        per-device batch the device count), and no hint keeps numbers that an edit made stale."""
        plan = self.wiz.model.replan()
        edits = self.wiz.state.user_edits
        self._loading = True
        for name, widget in self.widgets.items():
            if name not in edits:
                self._set(widget, name, getattr(self.wiz.state.config, name))
            # an edited setting's planner reason described the planner's own value, except for the device split,
            # whose reason follows the chosen number of devices
            yours = name in edits and not SPECS[name].multi_gpu
            self.why[name].setText(STRINGS["wizard.config.yours"] if yours else plan.reasons.get(name, ""))
        self._loading = False
        self._update_estimates()

    def _update_estimates(self) -> None:
        e = self.wiz.model.current_estimates()
        self.estimates.setText(
            f"Time: {time_text(e)} · peak memory {e.peak_memory / 2**30:.1f} GB · "
            f"energy {energy_text(e, self.wiz.model.settings.price_per_kwh)} · CO₂ {e.carbon_kg * 1000:.0f} g · "
            f"disk {e.disk_space / 2**20:.0f} MB" + "".join(f" · {note}" for note in
                                                          method_notes(self.wiz.state.config)))

    def open_sweep_dialog(self):
        from peftstudio.ui.sweep_dialog import SweepDialog  # lazy: off the start-up path (bench/startup.py)

        if not self.validatePage():
            return None
        state = self.wiz.state
        dialog = SweepDialog(state.config, {**state.annotations, "profile_id": state.profile_id,
                                            "version_name": state.version_name or None}, self)
        dialog.queued.connect(self.wiz.queue_sweep)
        dialog.open()
        return dialog

    def validatePage(self) -> bool:  # noqa: N802
        problems = self.wiz.state.config.problems()
        if problems:
            field, message = problems[0]
            self.estimates.setText(f"<span style='color:#b00020'>{html.escape(str(message))}</span>")
            self.widgets.get(field, self.estimates).setFocus()
            return False
        return True
