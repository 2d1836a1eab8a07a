"""`--fix`: a repaired copy of a dataset, with every change reported. The original is never touched.

Repairs: drop malformed lines, rows missing a required field or reply, exact and near duplicates;
strip whitespace, control characters and broken surrogates; undo mojibake; remove a trailing
unanswered user turn; a tool result that answers no call, a result with the wrong call id (when one call
waits); rows whose calls are wrong in ways only the user can correct are dropped and named; write UTF-8 JSONL
in the detected schema with its canonical field names (rows with tools: the OpenAI layout).
"""
from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from peftstudio.engine.data import checks, tool_calls
from peftstudio.engine.data.dataset_file import DatasetFile
from peftstudio.engine.data.reader import BadLine
from peftstudio.engine.data.schema import has_exchange, normalize_row
from peftstudio.engine.data.validate import example_text
from peftstudio.engine.errors import PlainError

MAX_LISTED_CHANGES = 500


@dataclass
class RepairReport:
    source: str
    output: str
    rows_in: int = 0
    rows_out: int = 0
    counts: Counter = field(default_factory=Counter)
    changes: list[dict] = field(default_factory=list)  # {"row", "action", "detail"}, first MAX_LISTED_CHANGES

    def note(self, row: int | None, action: str, detail: str) -> None:
        self.counts[action] += 1
        if len(self.changes) < MAX_LISTED_CHANGES:
            self.changes.append({"row": row, "action": action, "detail": detail})

    def to_dict(self) -> dict:
        return {"source": self.source, "output": self.output, "rows_in": self.rows_in, "rows_out": self.rows_out,
                "counts": dict(self.counts), "changes": self.changes}


def clean_text(text: str) -> str:
    if checks.has_mojibake(text):
        text = checks.fix_mojibake(text)
    return checks.strip_hidden(checks.strip_control(text)).strip()


def _clean_example(example: dict, report: RepairReport, line: int) -> dict | None:
    if "text" in example:
        cleaned = clean_text(example["text"])
        if cleaned != example["text"]:
            report.note(line, "cleaned_text", "removed stray characters, spaces or garbled accents")
        return {"text": cleaned} if cleaned else None
    messages = []
    for m in example["messages"]:
        content = clean_text(m["content"])
        if content != m["content"]:
            report.note(line, "cleaned_text", f"cleaned the {m['role']} turn")
        if content or m.get("tool_calls") or m["role"] == "tool":  # a call turn may have no words; a result may be ""
            messages.append(dict(m, content=content))
    while messages and messages[-1]["role"] == "user":
        messages.pop()
        report.note(line, "removed_unanswered_turn", "removed a last user turn that had no reply")
    if not has_exchange(messages):  # nothing answers a user: no prompt to learn from (not a lone assistant turn)
        report.note(line, "dropped_no_exchange", "dropped a conversation in which no assistant turn answers a user")
        return None
    opening = next(i for i, m in enumerate(messages) if m["role"] != "system")
    while messages[opening]["role"] == "assistant":  # the model learns to answer, not to open
        messages.pop(opening)
        report.note(line, "removed_opening_turn", "removed an assistant turn that opened the conversation")
    example = dict(example, messages=messages)
    if tool_calls.has_tools(example):
        example, done = tool_calls.repair_tool_turns(example)
        for detail in done:
            report.note(line, "fixed_tool_turn", detail)
        problems = [p for p in tool_calls.tool_problems(example, line) if p[1] == "error"]
        if problems:  # arguments that are not JSON, an undeclared function: only the user knows the right call
            report.note(line, "dropped_bad_tool_call", problems[0][2])
            return None
    return example


def _openai_layout(example: dict) -> dict:
    """A conversation with tools written back in the OpenAI layout (the one every trainer reads)."""
    messages = []
    for m in example["messages"]:
        if m.get("tool_calls"):
            messages.append({"role": "assistant", "content": m["content"], "tool_calls": [
                {"id": c["id"], "type": "function",
                 "function": {"name": c["name"], "arguments": json.dumps(c["arguments"], ensure_ascii=False)}}
                for c in m["tool_calls"]]})
        elif m["role"] == "tool":
            messages.append({k: m[k] for k in ("role", "content", "tool_call_id", "name") if k in m})
        else:
            messages.append({"role": m["role"], "content": m["content"]})
    return {"tools": example.get("tools") or [], "messages": messages}


def _canonical(example: dict, schema_name: str) -> dict:
    """The example written back in the detected schema's own field names."""
    if "text" in example:
        return {"text": example["text"]}
    if tool_calls.has_tools(example):
        return _openai_layout(example)
    messages = example["messages"]
    simple = len(messages) == 2 and [m["role"] for m in messages] == ["user", "assistant"]
    if schema_name == "alpaca" and simple:
        return {"instruction": messages[0]["content"], "input": "", "output": messages[1]["content"]}
    if schema_name in ("prompt_completion", "mapped") and simple:
        return {"prompt": messages[0]["content"], "completion": messages[1]["content"]}
    if schema_name == "question_answer" and simple:
        return {"question": messages[0]["content"], "answer": messages[1]["content"]}
    if schema_name == "sharegpt":
        names = {"user": "human", "assistant": "gpt", "system": "system"}
        return {"conversations": [{"from": names.get(m["role"], m["role"]), "value": m["content"]} for m in messages]}
    return {"messages": messages}


def repair_file(source: str | Path, output: str | Path, column_mapping: dict | None = None) -> RepairReport:
    source, output = Path(source), Path(output)
    if output.resolve() == source.resolve():
        raise PlainError(
            title="The repaired copy needs another name",
            what="The output path is the dataset itself; PEFT Studio never overwrites your original file.",
            why="--fix writes a separate, repaired copy.",
            actions=["Give another file name, for example data.fixed.jsonl.", "Choose another folder."],
            help_topic="datasets",
        )
    if output.is_dir() or (output.exists() and not output.is_file()):
        raise PlainError(
            title="The repaired copy needs a file name",
            what=f"{output} is a folder (or another thing that is not a file).",
            why="--fix writes one new file.",
            actions=[f"Give a file name inside it, for example {output / (source.stem + '.fixed.jsonl')}.",
                     "Choose another path."],
            help_topic="datasets",
        )
    with DatasetFile.open(source, column_mapping) as data:
        info = data.info
        if not info.is_dataset:
            raise PlainError(
                title="This file cannot be repaired",
                what=info.reason,
                why="Only text datasets (JSON, JSONL, CSV, TSV, TXT) and Parquet files can be repaired.",
                actions=["Check that you chose the right file.", "Export the data again as JSONL or CSV."],
                help_topic="datasets",
            )
        schema = _schema_of(data.schema)
        report = RepairReport(str(source), str(output))
        if info.encoding_warning:
            report.note(None, "converted_encoding", "read as Windows-1252 and written as UTF-8")
        output.parent.mkdir(parents=True, exist_ok=True)
        staging = output.with_name(f".{output.name}.tmp-{os.getpid()}")
        exact, near = set(), set()
        try:
            with open(staging, "w", encoding="utf-8") as handle:
                for item in data.items():
                    _repair_one(item, schema, report, handle, exact, near)
            os.replace(staging, output)
        finally:
            if staging.exists():
                staging.unlink()
    if info.format not in ("jsonl",):
        report.note(None, "converted_format", f"{info.format.upper()} written as JSONL")
    return report


def _schema_of(schema):
    if schema is None:
        raise PlainError(
            title="PEFT Studio does not recognise the dataset's columns",
            what="No prompt and response columns were found, so the rows cannot be repaired.",
            why="Examples need a prompt and a response, chat messages, or a text column.",
            actions=["Rename the columns to instruction/output or prompt/completion.",
                     "Pass a column mapping so PEFT Studio knows which columns to use."],
            help_topic="datasets",
        )
    return schema


def _repair_one(item, schema, report: RepairReport, handle, exact: set, near: set) -> None:
    if isinstance(item, BadLine):
        report.note(item.line, "dropped_malformed", item.message)
        return
    report.rows_in += 1
    try:
        example = normalize_row(item.data, schema, require_exchange=False)  # trimmed below
    except (AttributeError, TypeError):
        example = None
    example = _clean_example(example, report, item.line) if example is not None else None
    if example is None:
        report.note(item.line, "dropped_empty", "no prompt or no reply to learn from")
        return
    key = json.dumps(example, sort_keys=True)
    text = example_text(example)
    near_key = checks.near_duplicate_key(text)
    if hash(key) in exact:
        report.note(item.line, "dropped_duplicate", "an exact repeat of an earlier row")
        return
    if near_key in near:
        report.note(item.line, "dropped_near_duplicate", "nearly the same as an earlier row")
        return
    exact.add(hash(key))
    near.add(near_key)
    handle.write(json.dumps(_canonical(example, schema.name), ensure_ascii=False) + "\n")
    report.rows_out += 1
