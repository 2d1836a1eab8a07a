"""The user's judgement of a version's answers, kept with the version, and turned into preference data.

Three kinds of feedback, given in the playground (or written by any tool into the run folder):
    thumbs   an answer marked good or bad                           -> a KTO row (prompt, completion, label)
    pair     of two answers to the same prompt, "this one is better" -> a preference pair (prompt, chosen, rejected)
    edit     the user rewrote an answer                              -> a pair: the edit chosen over the original
They live in the version's run folder (`feedback.jsonl`, one line per judgement, appended), so they travel with
the version and survive a rebuilt store. Exported, pairs make a DPO/ORPO dataset and thumbs alone a KTO one.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from peftstudio.engine import atomic
from peftstudio.engine.errors import PlainError
from peftstudio.engine.runs import RunFolder

KINDS = ("thumbs", "pair", "edit")


def _file(run_dir: Path) -> Path:
    return RunFolder(run_dir).feedback_file


def record_feedback(run_dir: Path, kind: str, prompt: list[dict], **details) -> dict:
    """Append one judgement: thumbs (answer, good), pair (chosen, rejected) or edit (original, edited)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    required = {"thumbs": ("answer", "good"), "pair": ("chosen", "rejected"), "edit": ("original", "edited")}[kind]
    missing = [name for name in required if name not in details]
    if missing:
        raise ValueError(f"{kind} feedback needs {', '.join(missing)}")
    record = {"time": time.time(), "kind": kind, "prompt": prompt, **{k: details[k] for k in required}}
    line = json.dumps(record, ensure_ascii=False) + "\n"
    # one write of a whole line with O_APPEND: a crash leaves earlier judgements intact
    fd = os.open(_file(run_dir), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, line.encode("utf-8"))
    finally:
        os.close(fd)
    return record


def read_feedback(run_dir: Path) -> list[dict]:
    """Every judgement kept for the run; a damaged last line (a crash mid-write) is skipped."""
    path = _file(run_dir)
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and record.get("kind") in KINDS:
            out.append(record)
    return out


def feedback_rows(records: list[dict]) -> tuple[list[dict], str]:
    """Dataset rows and the method they suit: pairs (from pairs and edits) -> dpo; thumbs only -> kto."""
    pairs = []
    for r in records:
        if r["kind"] == "pair" and r["chosen"].strip() != r["rejected"].strip():
            pairs.append({"prompt": r["prompt"], "chosen": r["chosen"], "rejected": r["rejected"]})
        elif r["kind"] == "edit" and r["edited"].strip() and r["edited"].strip() != r["original"].strip():
            pairs.append({"prompt": r["prompt"], "chosen": r["edited"], "rejected": r["original"]})
    if pairs:
        return pairs, "dpo"
    thumbs = [{"prompt": r["prompt"], "completion": r["answer"], "label": bool(r["good"])}
              for r in records if r["kind"] == "thumbs" and r["answer"].strip()]
    return thumbs, "kto"


def export_feedback(run_dir: Path, out: Path) -> tuple[int, str]:
    """Write the run's feedback as a preference dataset (JSONL); returns (rows, recommended method)."""
    rows, method = feedback_rows(read_feedback(run_dir))
    if not rows:
        raise PlainError(
            title="No feedback to export yet",
            what=f"{Path(run_dir).name} has no judged answers.",
            why="Feedback comes from the playground: thumbs up or down, 'this one is better', or an edited answer.",
            actions=["Open the version in the playground and judge a few answers.",
                     "Or prepare a preference file by hand (prompt, chosen, rejected)."],
            help_topic="datasets",
        )
    for row in rows:  # the prompt as chat messages; each answer as one assistant message
        for side in ("chosen", "rejected", "completion"):
            if side in row:
                row[side] = [{"role": "assistant", "content": row[side]}]
    atomic.write_text(out, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return len(rows), method
