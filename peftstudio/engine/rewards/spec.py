"""A reward as the user writes it: `NAME[:ARG=VALUE,...][*WEIGHT]` (the CLI's `--reward`, the run's config).

`length:min=10,max=30*2` is the length checker with its window, weighted twice; `file` is the user's own
reward file (`reward_file` in the config). Parsing checks everything a run needs before it starts.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from peftstudio.engine.errors import PlainError
from peftstudio.engine.rewards.builtin import CHECKERS, read_schema

USER_FILE = "file"  # the name of the user's own reward (from --reward-file)


@dataclass(frozen=True)
class RewardSpec:
    name: str
    arguments: dict = field(default_factory=dict)
    weight: float = 1.0

    @property
    def label(self) -> str:
        """The name TRL logs it under (`rewards/<label>/mean`) and our plots and scorecard show."""
        return self.name if not self.arguments else f"{self.name}({','.join(f'{k}={v}' for k, v in self.arguments.items())})"


def bad_reward(text: str, why: str) -> PlainError:
    return PlainError(
        title="This reward cannot be used",
        what=f"--reward {text}: {why}",
        why="A reward is a checker name, optional arguments and an optional weight: NAME[:ARG=VALUE,...][*WEIGHT].",
        actions=[f"Use one of: {', '.join(CHECKERS)} (or 'file' with --reward-file).",
                 "For example: --reward length:min=10,max=30 --reward json*0.5",
                 "Run 'peftstudio rewards --help' to see each checker's arguments."],
        help_topic="rewards",
    )


def parse_reward(text: str) -> RewardSpec:
    body, star, weight_text = text.strip().rpartition("*")
    try:
        weight = float(weight_text) if star else 1.0
    except ValueError:  # a `*` inside a regex pattern, not a weight
        star = ""
    if not star:
        body, weight = text.strip(), 1.0
    if weight < 0:
        raise bad_reward(text, "a weight cannot be negative")
    name, _, argument_text = body.partition(":")
    name = name.strip().lower()
    if name == USER_FILE:
        return RewardSpec(name, {}, weight)
    if name not in CHECKERS:
        raise bad_reward(text, f"there is no checker called '{name}'")
    checker = CHECKERS[name]
    arguments = {}
    for part in filter(None, (p.strip() for p in _split_arguments(argument_text, checker.arguments))):
        key, equals, value = part.partition("=")
        if not equals or key.strip() not in checker.arguments:
            known = ", ".join(checker.arguments) or "none"
            raise bad_reward(text, f"'{part}' is not an argument of {name} (its arguments: {known})")
        arguments[key.strip()] = value.strip()
    _check_arguments(text, name, arguments)
    return RewardSpec(name, arguments, weight)


def _split_arguments(text: str, known) -> list[str]:
    """Split at commas; a piece that does not start with a known argument belongs to the one before it (a
    regex pattern may hold commas)."""
    parts: list[str] = []
    for piece in text.split(","):
        if parts and piece.partition("=")[0].strip() not in known:
            parts[-1] += "," + piece
        else:
            parts.append(piece)
    return parts


def _check_arguments(text: str, name: str, arguments: dict) -> None:
    import re

    if name == "regex":
        if not arguments.get("pattern"):
            raise bad_reward(text, "regex needs pattern=, e.g. regex:pattern=^SELECT ")
        try:
            re.compile(arguments["pattern"])
        except re.error as error:
            raise bad_reward(text, f"the pattern is not a valid regular expression ({error})") from None
        if arguments.get("mode", "search") not in ("search", "full"):
            raise bad_reward(text, "mode must be search or full")
    if name == "length":
        try:
            low, high = float(arguments.get("min", 1)), float(arguments.get("max", 50))
        except ValueError:
            raise bad_reward(text, "min and max must be numbers") from None
        if low < 0 or high < low:
            raise bad_reward(text, "the window must have 0 <= min <= max")
        if arguments.get("unit", "words") not in ("words", "chars"):
            raise bad_reward(text, "unit must be words or chars")
    if name == "number":
        try:
            float(arguments.get("tolerance", 0))
        except ValueError:
            raise bad_reward(text, "tolerance must be a number") from None
    if name in ("exact", "contains") and arguments.get("case", "insensitive") not in ("sensitive", "insensitive"):
        raise bad_reward(text, "case must be sensitive or insensitive")
    if name == "json" and arguments.get("schema"):
        read_schema(arguments["schema"])


def format_reward(spec: RewardSpec) -> str:
    """Back to the text form the config keeps (parse_reward(format_reward(s)) == s)."""
    arguments = ",".join(f"{k}={v}" for k, v in spec.arguments.items())
    weight = "" if spec.weight == 1.0 else f"*{spec.weight:g}"
    return spec.name + (f":{arguments}" if arguments else "") + weight
