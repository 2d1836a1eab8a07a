"""What a training setting is: kind, range or choices, label, unit, help, and who may change it.

Each `TrainingConfig` field declares its setting once, with `declare(...)` (the dataclass field's metadata).
The rest is derived from those declarations: `TrainingConfig.problems()` (validation and its messages), the
wizard's settings form (widgets, ranges, labels, tooltips, basic/advanced), the command line's choices and
`--help`, and the planner's clamps. Adding a setting is adding one field; a test walks the declarations and
checks that every one of those places knows every field.

`editable_by`: "user" settings appear in the form; "app" settings are chosen elsewhere in the app (the
model and dataset steps, the column mapping) and are validated the same way but have no form widget.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, fields, replace
from typing import Any


@dataclass(frozen=True)
class Setting:
    name: str
    label: str
    kind: str  # int | float | choice | bool | text | layers | mapping | list
    help: str
    rule: str  # what a valid value is, in plain words (the validation message)
    minimum: float | None = None
    maximum: float | None = None
    min_exclusive: bool = False  # the minimum itself is not allowed (a learning rate of 0)
    max_exclusive: bool = False
    choices: tuple = ()
    optional: bool = False  # None is allowed
    allow_empty: bool = False  # for text: "" is allowed
    decimals: int = 0  # for the form's float fields
    step: float = 1.0
    unit: str = ""
    advanced: bool = True
    editable_by: str = "user"  # user | app
    multi_gpu: bool = False  # shown only on machines with several GPUs
    none_label: str = ""  # how the form shows None for an optional choice or number (e.g. "none", 0)
    # where else the setting takes part (see ROLES); a setting's roles are declared with it, nowhere else
    roles: tuple = ()
    aliases: tuple = ()  # short names people type (`--vary lr=...`)

    def accepts(self, value: Any) -> bool:
        """True when `value` is a valid value of this setting (exact types: True is not a number)."""
        if value is None:
            return self.optional
        if self.kind == "bool":
            return isinstance(value, bool)
        if self.kind in ("int", "float"):
            if isinstance(value, bool) or not isinstance(value, int if self.kind == "int" else (int, float)):
                return False
            if not math.isfinite(value):
                return False
            if self.minimum is not None and (value < self.minimum or (self.min_exclusive and value == self.minimum)):
                return False
            return self.maximum is None or (value < self.maximum or (not self.max_exclusive and value == self.maximum))
        if self.kind == "choice":
            return value in self.choices
        if self.kind == "text":
            return isinstance(value, str) and (self.allow_empty or bool(value.strip()))
        if self.kind == "layers":
            return isinstance(value, list) and bool(value) and all(isinstance(m, str) and m for m in value)
        if self.kind == "list":  # texts, maybe none (a GRPO run's rewards)
            return isinstance(value, list) and all(isinstance(m, str) and m.strip() for m in value)
        if self.kind == "mapping":
            return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
        raise ValueError(f"unknown setting kind {self.kind}")

    def clamp(self, value: float) -> float:
        """The nearest allowed number (the planner's proposals stay inside the declared range); an excluded
        bound gives way by the smallest step the form can show."""
        step = 10 ** -max(self.decimals, 1) if self.kind == "float" else 1
        if self.minimum is not None:
            value = max(self.minimum + (step if self.min_exclusive else 0), value)
        if self.maximum is not None:
            value = min(self.maximum - (step if self.max_exclusive else 0), value)
        return int(round(value)) if self.kind == "int" else value


# What a setting's `roles` may say:
ROLES = {
    "sweep": "a sweep may vary it (it changes how the adapter learns, not the data, model or machine)",
    "model-card": "the exported model card lists it under the training settings",
    "continued": "improving a version keeps it from that version (the adapter it continues and its method)",
}


def with_role(config_class, role: str) -> tuple[str, ...]:
    """The names of the settings of `config_class` that declare `role`, in field order."""
    assert role in ROLES, role
    return tuple(spec.name for spec in settings_of(config_class) if role in spec.roles)


# The form's two layer choices for target_modules (validation accepts any non-empty list of names).
LAYER_CHOICES = {"All linear layers": ["all-linear"], "Attention only": ["q_proj", "k_proj", "v_proj", "o_proj"]}


def declare(default, label: str, kind: str, help: str, rule: str, **details) -> Any:
    """A `TrainingConfig` field with its setting attached (a callable default is a factory: dict, a list)."""
    spec = Setting("", label, kind, help, rule, **details)
    if callable(default):
        return field(default_factory=default, metadata={SETTING: spec})
    return field(default=default, metadata={SETTING: spec})


SETTING = "setting"  # the field metadata key


@functools.cache
def settings_of(config_class) -> tuple[Setting, ...]:
    """The declared settings of a config dataclass, in field order, each with its field's name."""
    return tuple(replace(f.metadata[SETTING], name=f.name) for f in fields(config_class))


def describe(spec: Setting) -> str:
    """One line for `--help` and the docs: name, what values it takes, and its label."""
    if spec.kind in ("choice",):
        values = " | ".join(spec.choices) + (" | null" if spec.optional else "")
    elif spec.kind in ("int", "float"):
        def number(x: float) -> str:
            return f"{int(x):,}".replace(",", "_") if spec.kind == "int" else f"{x:g}"

        low = "" if spec.minimum is None else ("above " if spec.min_exclusive else "") + number(spec.minimum)
        high = "" if spec.maximum is None else ("below " if spec.max_exclusive else "") + number(spec.maximum)
        values = f"{spec.kind} {low} to {high}" + (" or null" if spec.optional else "")
    elif spec.kind == "layers":
        values = 'layer names, e.g. ["all-linear"]'
    else:
        values = {"bool": "true | false", "text": "text", "mapping": 'object, e.g. {"prompt": "question"}',
                  "list": 'texts, e.g. ["length:min=10,max=30", "json"]'}[spec.kind]
    return f"  {spec.name:<23} {values:<36} {spec.label}"
