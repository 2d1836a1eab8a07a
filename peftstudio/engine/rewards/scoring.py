"""A run's rewards together: parsed from its config, callable as TRL reward functions, and scoring a batch for
the preview and the scorecard. One place turns a conversational completion into text."""
from __future__ import annotations

from dataclasses import dataclass, field

from peftstudio.engine.errors import PlainError
from peftstudio.engine.rewards.builtin import CHECKERS
from peftstudio.engine.rewards.spec import USER_FILE, RewardSpec, parse_reward
from peftstudio.engine.rewards.user_file import UserReward

REFERENCE = "reference"  # the column of reference answers in GRPO's prompt rows
ROW = "row_number"  # each prompt's row in the user's file, so an error can name it
# what TRL hands a reward besides the dataset's own columns (the user's reward gets those as **row)
NOT_ROW_COLUMNS = (ROW, "prompt", "completion", "completion_ids", "trainer_state", "log_extra", "log_metric")


def as_text(value) -> str:
    """A completion or prompt as TRL hands it over: text, or a list of chat messages."""
    if isinstance(value, list):
        return "\n".join(str(m.get("content", "")) for m in value if isinstance(m, dict))
    return "" if value is None else str(value)


def no_rewards() -> PlainError:
    return PlainError(
        title="GRPO needs a reward",
        what="No reward was given, so nothing would tell the model which answers are better.",
        why="GRPO learns from a checker's scores instead of written answers.",
        actions=["Add one or more checkers, e.g. --reward length:min=10,max=30 or --reward json.",
                 "Or add your own with --reward-file FILE.py (a function reward(prompt, completion, **row))."],
        help_topic="rewards",
    )


@dataclass
class RewardSet:
    specs: list[RewardSpec]
    reward_file: str | None = None
    _user: UserReward | None = field(default=None, repr=False)

    @classmethod
    def from_config(cls, config) -> "RewardSet":
        specs = [parse_reward(text) for text in config.rewards]
        if config.reward_file and not any(s.name == USER_FILE for s in specs):
            specs.append(RewardSpec(USER_FILE))
        if any(s.name == USER_FILE for s in specs) and not config.reward_file:
            raise PlainError(title="No reward file was given", what="The rewards name 'file' but no file.",
                             why="'file' is your own reward function, read from --reward-file.",
                             actions=["Add --reward-file FILE.py.", "Or remove 'file' from the rewards."],
                             help_topic="rewards")
        if not specs:
            raise no_rewards()
        # checked now, before any model loads: the file exists and the user allowed it (it starts on first use)
        user = UserReward(config.reward_file) if config.reward_file else None
        return cls(specs, config.reward_file, user)

    @property
    def labels(self) -> list[str]:
        return [s.label for s in self.specs]

    @property
    def weights(self) -> list[float]:
        return [s.weight for s in self.specs]

    @property
    def needs_reference(self) -> bool:
        return any(s.name in CHECKERS and CHECKERS[s.name].needs_reference for s in self.specs)

    def user(self) -> UserReward:
        if self._user is None:
            self._user = UserReward(self.reward_file)
        return self._user

    def score(self, spec: RewardSpec, prompts, completions, rows: list[dict]) -> list[float]:
        if spec.name == USER_FILE:
            return self.user()([(row.get(ROW, i + 1), as_text(p), as_text(c),
                                 {k: v for k, v in row.items() if k not in NOT_ROW_COLUMNS})
                                for i, (p, c, row) in enumerate(zip(prompts, completions, rows))])
        checker = CHECKERS[spec.name]
        return [checker.score(as_text(p), as_text(c), row, row.get(REFERENCE), **spec.arguments)
                for p, c, row in zip(prompts, completions, rows)]

    def score_all(self, prompts, completions, rows: list[dict]) -> dict[str, list[float]]:
        """Each reward's scores of a batch, by label."""
        return {spec.label: self.score(spec, prompts, completions, rows) for spec in self.specs}

    def total(self, scores: dict[str, list[float]]) -> list[float]:
        """The weighted sum per completion (what GRPO maximises), from score_all's result."""
        count = len(next(iter(scores.values()), []))
        return [sum(spec.weight * scores[spec.label][i] for spec in self.specs) for i in range(count)]

    def trl_functions(self) -> list:
        """One function per reward in TRL's form: f(prompts, completions, **columns) -> list[float]."""
        functions = []
        for spec in self.specs:
            def function(prompts, completions, spec=spec, **columns):
                count = len(completions)
                rows = [{k: v[i] for k, v in columns.items()
                         if k != "completion_ids" and isinstance(v, list) and len(v) == count}
                        for i in range(count)]
                return self.score(spec, prompts, completions, rows)

            function.__name__ = spec.label  # TRL logs rewards/<__name__>/mean
            functions.append(function)
        return functions

    def close(self) -> None:
        if self._user is not None:
            self._user.close()
            self._user = None
