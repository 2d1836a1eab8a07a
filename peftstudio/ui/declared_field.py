"""One form widget for one declared setting (engine/settings.py's Setting), and its value back: the settings
dialog and the playground's sampling form both build their rows this way, so a declaration's range, steps and
help are the form's."""
from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLineEdit, QSpinBox


def widget_for(spec, value, object_prefix: str):
    """The widget of `spec` showing `value`, named `<object_prefix>.<setting name>` for tests and screenshots."""
    if spec.kind == "float":
        widget = QDoubleSpinBox()
        widget.setDecimals(spec.decimals)
        widget.setRange(spec.minimum, spec.maximum)
        widget.setSingleStep(spec.step)
        widget.setValue(value)
    elif spec.kind == "int":
        widget = QSpinBox()
        widget.setRange(int(spec.minimum), int(spec.maximum))
        widget.setValue(value)
    elif spec.kind == "choice":
        widget = QComboBox()
        widget.addItems(list(spec.choices))
        widget.setCurrentText(value)
    elif spec.kind == "bool":
        widget = QCheckBox()
        widget.setChecked(value)
    else:
        widget = QLineEdit(value or "")
        widget.setPlaceholderText(spec.none_label)
        if spec.unit == "secret":
            widget.setEchoMode(QLineEdit.Password)
    widget.setObjectName(f"{object_prefix}.{spec.name}")
    widget.setToolTip(spec.help)
    return widget


def value_of(spec, widget):
    """The widget's value as the setting holds it (an empty optional text is None)."""
    if spec.kind in ("float", "int"):
        return widget.value()
    if spec.kind == "choice":
        return widget.currentText()
    if spec.kind == "bool":
        return widget.isChecked()
    text = widget.text().strip()
    return None if spec.optional and not text else text
