"""Checks of generated rows: the dataset validator, then what only generated rows need.

Per row, as it is made (`row_flags`): an empty or cut-off answer, personal data (emails, phone numbers, with the
validator's own detectors), and grounding: the share of the answer's content words found in its passage
(below GROUNDED the answer probably says what the passage does not). For the whole file (`check_rows`): the
dataset validator's report (duplicates and near-duplicates, schema, lengths), and, when a judge is chosen, the
judge's yes/no on whether each answer is supported by its passage.
"""
from __future__ import annotations

import re
import threading
from pathlib import Path

from peftstudio.engine.data.checks import personal_data_hints
from peftstudio.engine.data.dataset_file import validate_file

GROUNDED = 0.5  # at least half of the answer's content words appear in the passage
STOPWORDS = frozenset("""a an and are as at be been but by can did do does for from had has have he her his how i if
in into is it its may more most no not of on or our she so such than that the their them then there these they this
those to was we were what when where which who why will with would you your""".split())
JUDGE = ("Passage:\n{passage}\n\nQuestion: {question}\nAnswer: {answer}\n\nIs the answer fully supported by the "
         "passage? Reply with one word: yes or no.")


def content_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.casefold()) if len(w) > 2 and w not in STOPWORDS}


def grounding(answer: str, passage: str) -> float:
    """The share of the answer's content words that occur in the passage (1.0 for an answer without any)."""
    words = content_words(answer)
    return len(words & content_words(passage)) / len(words) if words else 1.0


def answer_of(row: dict) -> str:
    return row.get("output") if "output" in row else row.get("text", "")


def row_flags(row: dict) -> list[str]:
    answer = answer_of(row).strip()
    flags = []
    if not answer or ("instruction" in row and not row["instruction"].strip()):
        flags.append("empty")
    elif answer[-1] not in ".!?\"')]}*`" and len(answer) > 40:
        flags.append("cut off")
    texts = " ".join(str(row.get(k, "")) for k in ("instruction", "output", "text"))
    flags += [f"personal data: {hint}" for hint in personal_data_hints(texts)]
    passage = row.get("source", {}).get("passage", "")
    if "output" in row and row.get("input") != passage and answer and grounding(answer, passage) < GROUNDED:
        flags.append("not grounded in its passage")
    return flags


def check_rows(out: Path, rows: list[dict], judge=None, cancel: threading.Event | None = None) -> dict:
    """The report for the file: the validator's findings, each row's flags, and the judge's verdicts."""
    validation = validate_file(out, min_examples=1).to_dict()
    flagged: dict[int, list[str]] = {}
    for number, row in enumerate(rows, start=1):
        flags = list((row.get("review") or {}).get("flags") or row_flags(row))
        if flags:
            flagged[number] = flags
    for issue in validation["results"]:  # the validator's duplicates are flags of their rows too
        if issue.get("code") in ("duplicate", "near_duplicate") and issue.get("row"):
            flagged.setdefault(issue["row"], []).append(issue["code"].replace("_", " "))
    if judge is not None:
        for number, row in enumerate(rows, start=1):
            if cancel is not None and cancel.is_set():
                break
            if "output" not in row:
                continue
            reply = judge.ask(JUDGE.format(passage=row["source"]["passage"], question=row["instruction"],
                                           answer=row["output"]), max_tokens=4)
            if not reply.strip().lower().startswith("yes"):
                flagged.setdefault(number, []).append("not supported (judge)")
    return {"file": str(out), "rows": len(rows), "validation": validation, "flagged_rows": len(flagged),
            "flags": {str(k): v for k, v in sorted(flagged.items())}, "judge": judge.description if judge else None}
