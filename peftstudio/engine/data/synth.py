"""Documents to a training set with a teacher model: read, split, ask, check, write; stops and resumes.

    result = synthesize(["manual.pdf", "notes/"], teacher, profile_id="question-answering", count=200,
                        out=Path("data.jsonl"), progress=..., cancel=..., on_row=...)

Rows are appended to `out` as they are made (one JSON line each, flushed), so what was made survives a stop or a
crash; running again with the same documents and count makes only the rows still missing (each row records its
task, passage id + variant; a line cut short by a crash is dropped first). When every row is made, the rows go
through the dataset validator and the checks of synth_checks.py, and the report is written beside the file
(`data.report.json`). Nothing leaves the machine unless the teacher is a server the user pointed at.
"""
from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from peftstudio.engine import atomic
from peftstudio.engine.data import synth_recipes as recipes
from peftstudio.engine.data.documents import read_documents
from peftstudio.engine.data.passages import DEFAULT_TOKENS, Passage, split_passages
from peftstudio.engine.data.synth_checks import check_rows, row_flags
from peftstudio.engine.errors import PlainError

Progress = Callable[[int, int, str], None]  # done, total, what is happening
QUESTION_TOKENS, ANSWER_TOKENS, SUMMARY_TOKENS = 48, 128, 160


@dataclass
class SynthResult:
    out: Path
    rows: int  # rows in the file
    made: int  # rows made by this call (the rest were there from an earlier one)
    passages: int
    documents: int
    stopped: bool
    seconds: float
    report: dict | None = None  # None when stopped before the end
    flagged: int = 0

    def to_dict(self) -> dict:
        data = dict(self.__dict__)
        data["out"] = str(self.out)
        return data


@dataclass
class Plan:
    passages: list[Passage]
    documents: int
    tasks: list[recipes.Task] = field(default_factory=list)


def plan_tasks(paths, count: int, passage_tokens: int = DEFAULT_TOKENS) -> Plan:
    """`count` rows spread over the passages in turn: every passage gets one before any gets a second."""
    documents = read_documents(paths)
    passages = [p for document in documents for p in split_passages(document, passage_tokens)]
    if not passages:
        raise PlainError(title="The documents hold too little text", what="No passage long enough to learn from "
                         "was found.", why="The files are very short, or their text could not be extracted.",
                         actions=["Add longer documents.", "Check that a PDF has selectable text."],
                         help_topic="datasets")
    return Plan(passages, len(documents),
                [recipes.Task(passages[i % len(passages)], i // len(passages)) for i in range(count)])


def read_made(out: Path) -> list[dict]:
    """Rows already in the file; a last line cut short by a crash is removed from the file."""
    if not out.exists():
        return []
    atomic.drop_partial_line(out)
    rows = []
    with open(out, encoding="utf-8") as handle:
        for line in handle:
            try:
                rows.append(json.loads(line))
            except ValueError:
                continue
    return rows


def _append(handle, row: dict) -> None:
    handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    handle.flush()
    os.fsync(handle.fileno())


def _make(recipe: str, tasks: list[recipes.Task], teacher, asked: dict[str, list[str]], cancel,
          cap: int | None = None) -> list[dict]:
    """The rows of one batch of tasks (two rounds for questions and answers); `cap` limits every reply's tokens."""
    question_tokens, answer_tokens, summary_tokens = (min(n, cap or n) for n in
                                                      (QUESTION_TOKENS, ANSWER_TOKENS, SUMMARY_TOKENS))
    if recipe == "text":
        return [recipes.text_row(task) for task in tasks]
    if recipe == "summary":
        replies = teacher.ask_many([recipes.SUMMARY.format(text=t.passage.text) for t in tasks], summary_tokens,
                                   cancel)
        return [recipes.summary_row(t, r) for t, r in zip(tasks, replies)]
    if recipe == "style":
        replies = teacher.ask_many([recipes.REQUEST.format(text=t.passage.text) for t in tasks], question_tokens,
                                   cancel)
        return [recipes.style_row(t, r) for t, r in zip(tasks, replies)]
    prompts = [recipes.question_prompt(t, asked.get(t.passage.id, [])) for t in tasks]
    questions = [recipes.first_line(r, ("question", "q")) for r in teacher.ask_many(prompts, question_tokens, cancel)]
    if len(questions) < len(tasks):
        return []  # cancelled between the rounds: this batch is made again next time
    answers = teacher.ask_many([recipes.answer_prompt(t, q) for t, q in zip(tasks, questions)], answer_tokens,
                               cancel)
    for task, question in zip(tasks, questions):
        asked.setdefault(task.passage.id, []).append(question)
    return [recipes.qa_row(t, q, a) for t, q, a in zip(tasks, questions, answers)]


def synthesize(paths, teacher, profile_id: str | None, count: int, out: Path, *, batch_size: int = 8,
               passage_tokens: int = DEFAULT_TOKENS, progress: Progress | None = None,
               cancel: threading.Event | None = None, on_row: Callable[[dict], None] | None = None,
               judge=None, reply_tokens: int | None = None) -> SynthResult:
    """Make `count` rows from the documents into `out` (JSONL), resuming what an earlier call made."""
    started = time.perf_counter()
    say = progress or (lambda done, total, message: None)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    recipe = recipes.recipe_for(profile_id)
    plan = plan_tasks(paths, count, passage_tokens)
    made_rows = read_made(out)
    done_ids = {row.get("source", {}).get("task") for row in made_rows}
    todo = [task for task in plan.tasks if task.id not in done_ids]
    asked: dict[str, list[str]] = {}
    for row in made_rows:  # later questions on a passage avoid the ones already asked
        if "instruction" in row:
            asked.setdefault(row["source"]["task"].split(":")[0], []).append(row["instruction"])
    total, made = len(plan.tasks), 0
    say(len(plan.tasks) - len(todo), total, f"{len(plan.passages)} passages from {plan.documents} document(s)")
    teacher_batch = teacher.batch_size if teacher is not None else batch_size
    with open(out, "a", encoding="utf-8") as handle:
        for start in range(0, len(todo), max(batch_size, teacher_batch)):
            if cancel is not None and cancel.is_set():
                break
            batch = todo[start:start + max(batch_size, teacher_batch)]
            for row in _make(recipe, batch, teacher, asked, cancel, reply_tokens):
                row["review"] = {"flags": row_flags(row)}
                _append(handle, row)
                made += 1
                if on_row is not None:
                    on_row(row)
            say(total - len(todo) + start + len(batch), total, "Writing examples")
    rows = read_made(out)
    stopped = len({r.get("source", {}).get("task") for r in rows}) < total
    result = SynthResult(out, len(rows), made, len(plan.passages), plan.documents, stopped,
                         time.perf_counter() - started)
    if not stopped:
        say(total, total, "Checking the examples")
        result.report = check_rows(out, rows, judge=judge, cancel=cancel)
        result.flagged = result.report["flagged_rows"]
        atomic.write_json(report_path(out), result.report)
    return result


def report_path(out: Path) -> Path:
    return Path(out).with_suffix(".report.json")


def write_reviewed(out: Path, rows: list[dict]) -> Path:
    """The rows kept after review (edits applied), beside the generated file; the generated file stays as made,
    so generation can go on from it."""
    path = Path(out).with_name(Path(out).stem + "-reviewed.jsonl")
    atomic.write_text(path, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
    return path
