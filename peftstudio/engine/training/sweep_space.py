"""What a sweep varies: `--vary lr=1e-4:5e-4:log,lora_r=8,16,32` read into checked dimensions.

A dimension is one setting of `TrainingConfig` (its declaration says its kind and range, so every value is
checked with the same rule the settings form uses) and either a list of values or a range `low:high[:log]`.
Optuna turns the dimensions into its distributions; the grid sampler gets values (a range becomes its two ends
and their middle).
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from peftstudio.engine.config import TrainingConfig
from peftstudio.engine.errors import PlainError
from peftstudio.engine.settings import settings_of, with_role

# Short names people type (declared with each setting); the full setting names work too.
ALIASES = {alias: spec.name for spec in settings_of(TrainingConfig) for alias in spec.aliases}
# What a sweep may vary: the settings whose declaration has the "sweep" role.
SWEEPABLE = with_role(TrainingConfig, "sweep")
TRUE_WORDS, FALSE_WORDS = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


@dataclass(frozen=True)
class Dimension:
    name: str
    kind: str  # int | float | choice | bool (from the setting's declaration)
    values: tuple = ()  # a list of values, or
    low: float | None = None  # a range
    high: float | None = None
    log: bool = False

    @property
    def is_range(self) -> bool:
        return self.low is not None

    def grid(self) -> list:
        if not self.is_range:
            return list(self.values)
        if self.log:
            middle = math.sqrt(self.low * self.high)
        else:
            middle = (self.low + self.high) / 2
        points = [self.low, middle, self.high]
        if self.kind == "int":
            points = [int(round(p)) for p in points]
        return list(dict.fromkeys(points))

    def distribution(self):
        import optuna.distributions as d

        if not self.is_range:
            return d.CategoricalDistribution(list(self.values))
        if self.kind == "int":
            return d.IntDistribution(int(self.low), int(self.high), log=self.log)
        return d.FloatDistribution(float(self.low), float(self.high), log=self.log)

    def to_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "values": list(self.values), "low": self.low,
                "high": self.high, "log": self.log}

    @classmethod
    def from_dict(cls, data: dict) -> "Dimension":
        return cls(data["name"], data["kind"], tuple(data.get("values") or ()), data.get("low"), data.get("high"),
                   bool(data.get("log")))

    def describe(self) -> str:
        if self.is_range:
            return f"{self.name} from {self.low:g} to {self.high:g}" + (" (log scale)" if self.log else "")
        return f"{self.name} in {', '.join(str(v) for v in self.values)}"


def bad_vary(what: str, why: str) -> PlainError:
    return PlainError(
        title="The settings to vary could not be read",
        what=what, why=why,
        actions=["Write them as NAME=VALUE,VALUE,... or NAME=LOW:HIGH (add :log for a log scale), e.g. "
                 "--vary lr=1e-4:5e-4:log,lora_r=8,16,32",
                 f"Settings a sweep can vary: {', '.join(SWEEPABLE)} (short names: lr, r, alpha, batch, dora)."],
        help_topic="sweeps")


def _declared():
    return {s.name: s for s in settings_of(TrainingConfig)}


def _value(spec, text: str):
    text = text.strip()
    try:
        if spec.kind == "int":
            value = int(float(text)) if float(text).is_integer() else None
            if value is None:
                raise ValueError
        elif spec.kind == "float":
            value = float(text)
        elif spec.kind == "bool":
            if text.lower() not in TRUE_WORDS + FALSE_WORDS:
                raise ValueError
            value = text.lower() in TRUE_WORDS
        else:
            value = text
    except ValueError:
        raise bad_vary(f"'{text}' is not a value of {spec.name} ({spec.label}).", spec.rule) from None
    if not spec.accepts(value):
        raise bad_vary(f"{value} is not allowed for {spec.name} ({spec.label}).", spec.rule)
    return value


def dimension(name: str, text: str) -> Dimension:
    """One setting's values (`8,16,32`) or range (`1e-4:5e-4:log`), checked against its declaration."""
    name = ALIASES.get(name.strip().lower(), name.strip().lower())
    spec = _declared().get(name)
    if spec is None or name not in SWEEPABLE:
        raise bad_vary(f"'{name}' is not a setting a sweep can vary.", "A sweep tries settings of how the adapter "
                       "learns; the model, the data and the machine stay the same in every trial.")
    if ":" in text:
        parts = text.split(":")
        log = parts[-1].strip().lower() == "log"
        if log:
            parts = parts[:-1]
        if len(parts) != 2 or spec.kind not in ("int", "float"):
            raise bad_vary(f"'{name}={text}' is not a range.", "A range is LOW:HIGH or LOW:HIGH:log, and only "
                           "numbers have ranges.")
        low, high = sorted((_value(spec, parts[0]), _value(spec, parts[1])))
        if low == high:
            raise bad_vary(f"The range of {name} is a single value ({low}).", "A range needs two different ends.")
        if log and low <= 0:
            raise bad_vary(f"A log-scale range of {name} starts at {low}.", "A log scale needs numbers above 0.")
        return Dimension(name, spec.kind, low=low, high=high, log=log)
    values = tuple(dict.fromkeys(_value(spec, part) for part in text.split(",") if part.strip()))
    if not values:
        raise bad_vary(f"{name} has no values.", "Each setting needs at least one value.")
    return Dimension(name, spec.kind, values=values)


def parse_vary(text: str) -> list[Dimension]:
    """`lr=1e-4:5e-4:log,lora_r=8,16,32`: a comma starts a new setting when the part has an `=`."""
    groups: list[list[str]] = []
    for part in text.split(","):
        if "=" in part:
            name, _, first = part.partition("=")
            groups.append([name, first])
        elif groups:
            groups[-1][1] += "," + part
        elif part.strip():
            raise bad_vary(f"'{part}' has no setting name.", "Each setting starts with NAME=.")
    dimensions = [dimension(name, values) for name, values in groups]
    names = [d.name for d in dimensions]
    if not dimensions:
        raise bad_vary("Nothing to vary was given.", "A sweep needs at least one setting with several values.")
    if len(set(names)) != len(names):
        raise bad_vary(f"A setting is named twice: {', '.join(names)}.", "Give each setting once.")
    if all(not d.is_range and len(d.values) == 1 for d in dimensions):
        raise bad_vary("Every setting has a single value, so every trial would be the same run.",
                       "A sweep compares different settings.")
    return dimensions


def grid_size(dimensions: list[Dimension]) -> int:
    return math.prod(len(d.grid()) for d in dimensions)


def grid_points(dimensions: list[Dimension]) -> list[dict]:
    return [dict(zip([d.name for d in dimensions], combo)) for combo in
            itertools.product(*(d.grid() for d in dimensions))]
