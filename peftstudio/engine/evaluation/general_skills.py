"""The forgetting check: general prompts we wrote ourselves, each with the answers we accept.

106 prompts in five groups (facts, arithmetic, following simple instructions, refusing to make things up,
common sense) next to what the six use cases touch. An answer counts when it contains an accepted answer as
a whole word or phrase (any case); for the refusal group, when it says it cannot know.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

SKILLS_FILE = Path(__file__).resolve().parent.parent.parent / "resources" / "eval" / "general_skills.jsonl"
REGRESSION_MARGIN = 0.10  # a group regressed when the tuned model gets at least 10 points fewer right


@dataclass(frozen=True)
class SkillItem:
    category: str
    prompt: str
    accept: tuple[str, ...]


def load_items(limit: int | None = None) -> list[SkillItem]:
    items = [SkillItem(d["category"], d["prompt"], tuple(d["accept"]))
             for d in map(json.loads, SKILLS_FILE.read_text(encoding="utf-8").splitlines()) if d]
    if limit is not None and limit < len(items):  # an even share of every group, not the first groups only
        by_group: dict[str, list[SkillItem]] = {}
        for item in items:
            by_group.setdefault(item.category, []).append(item)
        items = [item for index in range(limit) for group in by_group.values()
                 if index < len(group) for item in [group[index]]][:limit]
    return items


def is_correct(item: SkillItem, answer: str) -> bool:
    return any(re.search(rf"(?<!\w){re.escape(accepted)}(?!\w)", answer, re.IGNORECASE) for accepted in item.accept)


def accuracy_by_group(items: list[SkillItem], answers: list[str]) -> dict[str, float]:
    totals: dict[str, list[int]] = {}
    for item, answer in zip(items, answers):
        right, count = totals.setdefault(item.category, [0, 0])
        totals[item.category] = [right + is_correct(item, answer), count + 1]
    return {group: right / count for group, (right, count) in totals.items()}


def overall(items: list[SkillItem], answers: list[str]) -> float:
    return sum(is_correct(i, a) for i, a in zip(items, answers)) / max(1, len(items))


def compare(items: list[SkillItem], base_answers: list[str], tuned_answers: list[str]) -> dict:
    """Accuracy of both, the change in percent of the base's, and the groups that regressed."""
    base, tuned = overall(items, base_answers), overall(items, tuned_answers)
    base_groups, tuned_groups = accuracy_by_group(items, base_answers), accuracy_by_group(items, tuned_answers)
    regressed = [group for group in base_groups if tuned_groups[group] <= base_groups[group] - REGRESSION_MARGIN]
    change = (tuned - base) / base * 100 if base else (tuned - base) * 100
    return {"base_accuracy": base, "tuned_accuracy": tuned, "change_percent": change, "items": len(items),
            "base_by_group": base_groups, "tuned_by_group": tuned_groups, "regressed": regressed}
