"""The wizard's reward form as plain data: one row per built-in checker (on or off, its arguments as the
`--reward` text writes them, its weight), read from and written back to a config's `rewards` list, so the form
and the command line share one syntax and one validation (spec.parse_reward)."""
from __future__ import annotations

from dataclasses import dataclass

from peftstudio.engine.rewards.builtin import CHECKERS
from peftstudio.engine.rewards.spec import USER_FILE, format_reward, parse_reward


@dataclass
class RewardChoice:
    name: str
    on: bool = False
    arguments: str = ""  # "min=10,max=30", as after the colon of --reward
    weight: float = 1.0

    @property
    def text(self) -> str:
        return self.name + (f":{self.arguments.strip()}" if self.arguments.strip() else "") + \
            ("" if self.weight == 1.0 else f"*{self.weight:g}")


def example_arguments(name: str) -> str:
    """What the arguments field shows before anything is typed (the checker's defaults)."""
    defaults = {"regex": {"pattern": "^[A-Z]", "mode": "search"}, "json": {"schema": "FILE.json"}}
    arguments = defaults.get(name, CHECKERS[name].arguments)
    return ",".join(f"{k}={v}" for k, v in arguments.items() if v is not None)


def choices_from(rewards: list[str]) -> dict[str, RewardChoice]:
    """Every checker as a row; those in `rewards` switched on with their arguments and weight."""
    rows = {name: RewardChoice(name) for name in CHECKERS}
    for text in rewards:
        spec = parse_reward(text)
        if spec.name == USER_FILE:
            continue  # the reward file has its own field
        rows[spec.name] = RewardChoice(spec.name, True, ",".join(f"{k}={v}" for k, v in spec.arguments.items()),
                                       spec.weight)
    return rows


def rewards_from(choices: dict[str, RewardChoice], with_file: bool) -> list[str]:
    """The config's `rewards` for the rows switched on (a PlainError names a row whose arguments are wrong)."""
    texts = [format_reward(parse_reward(c.text)) for c in choices.values() if c.on]
    return texts + ([USER_FILE] if with_file else [])
