"""Rewards for GRPO: built-in checkers (exact, contains, number, math, json, regex, length, format) and the
user's own reward file (consent first, its own process, a time limit per call), parsed from the run's config.

Stands on consent, errors and settings only: training (GRPO), evaluation (the reward preview and the
scorecard's reward section) and the command line use it.
"""
from peftstudio.engine.lazy_names import lazy

__all__, __getattr__ = lazy(__name__, {
    "builtin": ["CHECKERS", "Checker", "answer_part"],
    "spec": ["RewardSpec", "parse_reward", "format_reward", "USER_FILE"],
    "scoring": ["RewardSet", "as_text", "REFERENCE", "ROW", "no_rewards"],
    "user_file": ["UserReward", "TIME_LIMIT_S"],
    "choices": ["RewardChoice", "choices_from", "rewards_from", "example_arguments"],
})
