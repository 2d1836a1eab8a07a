"""Step 4: the settings. The planner's values, each with its reason and a plain-language tooltip."""
from __future__ import annotations

import html

from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
                               QLineEdit, QScrollArea, QSpinBox, QToolButton, QVBoxLayout, QWidget, QWizardPage)

from peftstudio.engine.estimates import format_duration
from peftstudio.ui.help_texts import SETTING_HELP
from peftstudio.ui.locales import STRINGS

TARGETS = {"All linear layers": ["all-linear"], "Attention only": ["q_proj", "k_proj", "v_proj", "o_proj"]}
# (field, label, kind, options, advanced)
SETTINGS = [
    ("num_processes", "Use GPUs", "int", (1, 64), False),
    ("lora_r", "LoRA rank", "int", (1, 1024), False),
    ("learning_rate", "Learning rate", "float", (1e-6, 1.0, 6, 1e-5), False),
    ("batch_size", "Batch size", "int", (1, 4096), False),
    ("gradient_accumulation", "Gradient accumulation", "int", (1, 4096), False),
    ("epochs", "Epochs", "float", (0.1, 1000, 2, 0.5), False),
    ("max_seq_length", "Max sequence length", "int", (16, 131072), False),
    ("lora_alpha", "LoRA alpha", "int", (1, 4096), True),
    ("lora_dropout", "LoRA dropout", "float", (0.0, 0.99, 3, 0.01), True),
    ("target_modules", "Adapted layers", "choice", list(TARGETS), True),
    ("max_steps", "Max steps (0 = by epochs)", "int", (0, 10**7), True),
    ("warmup_steps", "Warm-up steps", "int", (0, 10**6), True),
    ("optimizer", "Optimizer", "choice", ["adamw", "sgd", "adamw_8bit"], True),
    ("scheduler", "Learning-rate schedule", "choice", ["linear", "cosine", "constant"], True),
    ("weight_decay", "Weight decay", "float", (0.0, 1.0, 3, 0.01), True),
    ("max_grad_norm", "Gradient clipping", "float", (0.0, 100.0, 2, 0.1), True),
    ("precision", "Precision", "choice", ["auto", "fp32", "bf16", "fp16"], True),
    ("quantization", "Quantization", "choice", ["none", "8bit", "4bit"], True),
    ("save_steps", "Save every (steps)", "int", (1, 10**6), True),
    ("save_total", "Keep checkpoints", "int", (1, 100), True),
    ("eval_strategy", "Evaluate", "choice", ["steps", "epoch", "no"], True),
    ("eval_steps", "Evaluate every (steps)", "int", (1, 10**6), True),
    ("validation_split", "Held-back share", "float", (0.0, 0.49, 2, 0.05), True),
    ("packing", "Packing", "bool", None, True),
    ("gradient_checkpointing", "Gradient checkpointing", "bool", None, True),
    ("seed", "Seed", "int", (0, 2**31 - 1), True),
    ("system_prompt", "System prompt", "text", None, True),
    ("distributed_strategy", "Multi-GPU strategy", "choice", ["ddp", "zero2", "fsdp", "zero3"], True),
]
MULTI_GPU_SETTINGS = ("num_processes", "distributed_strategy")  # shown only when the machine has several GPUs


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
        for name, label, kind, options, is_advanced in SETTINGS:
            widget = self._make(name, kind, options)
            widget.setObjectName(f"train.{name}")
            widget.setMinimumWidth(120)
            widget.setToolTip(SETTING_HELP[name])
            why = QLabel()
            why.setObjectName(f"why.{name}")
            why.setStyleSheet("color: #666; font-size: 11px;")
            why.setWordWrap(True)
            row = QWidget()
            row_layout = QHBoxLayout(row)
            row_layout.setContentsMargins(0, 0, 0, 0)
            row_layout.addWidget(widget)
            row_layout.addWidget(why, 1)
            caption = QLabel(label)
            caption.setToolTip(SETTING_HELP[name])
            (advanced if is_advanced else basic).addRow(caption, row)
            self.widgets[name], self.why[name] = widget, why
            if name in MULTI_GPU_SETTINGS:
                gpus = len(self.wiz.hardware.gpus) if self.wiz.hardware.cuda_available else 0
                (advanced if is_advanced else basic).setRowVisible(row, gpus > 1)
                if name == "num_processes":
                    widget.setRange(1, max(1, gpus))
        self.estimates = QLabel()
        self.estimates.setObjectName("config.estimates")
        self.estimates.setWordWrap(True)
        self.estimates.setStyleSheet("font-weight: 600; padding: 6px; background: #f2f5fa; border-radius: 6px;")
        outer.addWidget(self.estimates)
        layout.addStretch()

    def _make(self, name, kind, options):
        if kind == "int":
            widget = QSpinBox()
            widget.setRange(*options)
            widget.valueChanged.connect(lambda _=0, n=name: self._edited(n))
        elif kind == "float":
            low, high, decimals, step = options
            widget = QDoubleSpinBox()
            widget.setRange(low, high)
            widget.setDecimals(decimals)
            widget.setSingleStep(step)
            widget.valueChanged.connect(lambda _=0, n=name: self._edited(n))
        elif kind == "choice":
            widget = QComboBox()
            widget.addItems(options)
            widget.currentIndexChanged.connect(lambda _=0, n=name: self._edited(n))
        elif kind == "bool":
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
        plan = self.wiz.replan()
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
                value = next((k for k, v in TARGETS.items() if v == value), "All linear layers")
            widget.setCurrentText("none" if value is None else str(value))
        else:
            widget.setText(value or "")

    def value_of(self, name: str):
        widget = self.widgets[name]
        if isinstance(widget, QSpinBox):
            value = widget.value()
            return (value or None) if name == "max_steps" else value
        if isinstance(widget, QDoubleSpinBox):
            return widget.value()
        if isinstance(widget, QCheckBox):
            return widget.isChecked()
        if isinstance(widget, QComboBox):
            text = widget.currentText()
            if name == "target_modules":
                return list(TARGETS[text])
            return None if text == "none" else text
        return widget.text() or None

    def _edited(self, name: str) -> None:
        if self._loading:
            return
        self.wiz.set_setting(name, self.value_of(name))
        if name in MULTI_GPU_SETTINGS:  # per-device batch, accumulation and memory depend on the device count
            self.initializePage()
            return
        self._update_estimates()

    def _update_estimates(self) -> None:
        e = self.wiz.current_estimates()
        self.estimates.setText(
            f"Time: about {format_duration(e.duration_expected)} (between {format_duration(e.duration_min)} and "
            f"{format_duration(e.duration_max)}) · peak memory {e.peak_memory / 2**30:.1f} GB · "
            f"energy {e.electricity_kwh:.3f} kWh ≈ {e.electricity_cost:.2f} · CO₂ {e.carbon_kg * 1000:.0f} g · "
            f"disk {e.disk_space / 2**20:.0f} MB")

    def validatePage(self) -> bool:  # noqa: N802
        problems = self.wiz.state.config.problems()
        if problems:
            field, message = problems[0]
            self.estimates.setText(f"<span style='color:#b00020'>{html.escape(str(message))}</span>")
            self.widgets.get(field, self.estimates).setFocus()
            return False
        return True
