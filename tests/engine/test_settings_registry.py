"""Every setting is declared once (on its TrainingConfig field); validation, the form, the tooltips, the CLI and
the planner all know every one of them, from that declaration."""
from __future__ import annotations

import subprocess
import sys
from dataclasses import fields

import pytest

from peftstudio.engine.config import TrainingConfig
from peftstudio.engine.config import all_settings, form_settings, setting

SETTINGS = all_settings()


def invalid_values(spec):
    """Values each kind of setting must refuse."""
    bad = [object(), [1]] if spec.kind != "layers" else [[], [""], "all-linear"]
    if spec.kind in ("int", "float"):
        bad += ["1", True, float("nan")]
        if spec.minimum is not None:
            bad.append(spec.minimum if spec.min_exclusive else spec.minimum - 1)
        if spec.maximum is not None:
            bad.append(spec.maximum if spec.max_exclusive else spec.maximum + 1)
        if spec.kind == "int":
            bad.append(1.5)
    elif spec.kind == "choice":
        bad += ["not-a-choice", 3]
    elif spec.kind == "bool":
        bad += [1, "yes"]
    elif spec.kind == "text":
        bad += [5] + ([] if spec.allow_empty else ["", "   "])
    elif spec.kind == "mapping":
        bad += [{"prompt": 1}, [("a", "b")]]
    if not spec.optional:
        bad.append(None)
    return bad


def test_every_field_declares_exactly_one_setting():
    assert [s.name for s in SETTINGS] == [f.name for f in fields(TrainingConfig)]
    for spec in SETTINGS:
        assert spec.label and len(spec.help) > 20 and spec.rule, spec.name
        assert spec.kind in ("int", "float", "choice", "bool", "text", "layers", "mapping", "list"), spec.name
        assert spec.editable_by in ("user", "app")
        assert spec.accepts(getattr(TrainingConfig(), spec.name)), f"{spec.name}: its default is not valid"
        if spec.kind == "choice":
            assert all(str(c) in spec.rule for c in spec.choices), f"{spec.name}: the message lists the choices"


@pytest.mark.parametrize("spec", SETTINGS, ids=lambda s: s.name)
def test_validation_knows_every_setting(spec):
    for value in invalid_values(spec):
        problems = dict(TrainingConfig(**{spec.name: value}).problems())
        assert problems.get(spec.name) == spec.rule, (spec.name, value)


def test_the_form_shows_every_user_setting_with_its_declared_range_and_help(qtbot):
    from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QSpinBox

    from peftstudio.engine.planning.hardware import hardware_profile
    from peftstudio.ui.wizard.wizard import TrainingWizard

    wizard = TrainingWizard(hardware_profile())
    qtbot.addWidget(wizard)
    page = wizard.config_page
    shown = set(page.widgets)
    assert shown == {s.name for s in SETTINGS if s.editable_by == "user"} == {s.name for s in form_settings()}
    for name, widget in page.widgets.items():
        spec = setting(name)
        assert widget.toolTip() == spec.help
        if isinstance(widget, QSpinBox) and name != "num_processes":  # the GPU count is capped by the machine
            assert widget.maximum() == min(spec.maximum, 2**31 - 1)
            assert widget.minimum() == (0 if spec.optional else spec.minimum)
        elif isinstance(widget, QDoubleSpinBox):
            assert spec.minimum <= widget.minimum() and widget.maximum() <= spec.maximum
        elif isinstance(widget, QComboBox):
            items = [widget.itemText(i) for i in range(widget.count())]
            assert items[-len(spec.choices):] == list(spec.choices)


def test_the_cli_knows_every_user_setting():
    out = subprocess.run([sys.executable, "-m", "peftstudio", "train", "--help"], capture_output=True, text=True,
                         timeout=120).stdout
    for spec in SETTINGS:
        assert (f"  {spec.name} " in out) == (spec.editable_by == "user"), spec.name
    assert "{" + ",".join(setting("distributed_strategy").choices) + "}" in out


def test_the_planner_keeps_every_number_inside_its_declared_range():
    from peftstudio.engine.planning.planner import within_declared_ranges

    config = TrainingConfig()
    for spec in SETTINGS:
        if spec.kind in ("int", "float") and spec.maximum is not None:
            setattr(config, spec.name, spec.maximum * 10)
    within_declared_ranges(config)
    assert config.problems() == [], config.problems()
