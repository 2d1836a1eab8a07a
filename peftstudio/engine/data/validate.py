"""Validating a dataset file in one streaming pass: every problem, where it is, and what to do; the same pass
gives the preview and the token statistics. Called through `DatasetFile.inspect` (and `validate_file`).

Never raises on a bad file: unreadable input gives a report with `readable=False`.
Memory stays flat: rows are not kept, only 8-byte hashes for duplicate detection and lengths.
"""
from __future__ import annotations

import json
from array import array
from collections import Counter
from dataclasses import asdict, dataclass, field

from peftstudio.engine.data import checks, tool_calls, tool_render
from peftstudio.engine.data.detect import FormatInfo
from peftstudio.engine.data.preference import LENGTH_BIAS, length_bias, preference_example, preference_problems
from peftstudio.engine.data.reader import BadLine, Row
from peftstudio.engine.data.schema import Schema, has_exchange, normalize_row
from peftstudio.engine.data.stats import DatasetStats, TokenCounter, summarize
from peftstudio.engine.data.tokenize import model_text

MAX_RESULTS_PER_CODE = 200


@dataclass
class Inspection:
    """Everything the wizard and `peftstudio validate` show about a file, from one pass."""

    report: "ValidationReport"
    stats: DatasetStats | None = None  # with a tokenizer only
    preview: list[dict] = field(default_factory=list)


@dataclass
class ValidationResult:
    code: str  # a stable id of the check, e.g. "duplicate", "malformed_line"
    field: str
    row: int | None  # 1-based line or position in the file; None for the whole file
    level: str  # error | warning | info
    message: str
    suggestion: str
    auto_fixable: bool = False


@dataclass
class ValidationReport:
    path: str
    format: FormatInfo
    readable: bool
    schema: Schema | None = None
    rows_total: int = 0
    rows_usable: int = 0
    rows_with_tools: int = 0  # conversations that declare or call tools (an agent's dataset)
    results: list[ValidationResult] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # per code, including results not listed
    char_lengths: array = field(default_factory=lambda: array("l"))

    @property
    def errors(self) -> int:
        return sum(n for code, n in self.counts.items() if self._level(code) == "error")

    @property
    def warnings(self) -> int:
        return sum(n for code, n in self.counts.items() if self._level(code) == "warning")

    def _level(self, code: str) -> str:
        return next((r.level for r in self.results if r.code == code), "info")

    @property
    def exit_code(self) -> int:
        """The CLI contract: 0 clean or warnings only, 1 errors found, 2 unreadable."""
        if not self.readable:
            return 2
        return 1 if self.errors else 0

    def to_dict(self) -> dict:
        return {"path": self.path, "format": self.format.to_dict(), "readable": self.readable,
                "schema": self.schema.to_dict() if self.schema else None, "rows_total": self.rows_total,
                "rows_usable": self.rows_usable, "rows_with_tools": self.rows_with_tools, "errors": self.errors, "warnings": self.warnings,
                "counts": dict(self.counts), "results": [asdict(r) for r in self.results]}


class _Collector:
    def __init__(self, report: ValidationReport):
        self.report = report
        self.listed = Counter()
        self.pairs: list[dict] = []  # the preference rows seen, for checks over the whole file (length bias)

    def add(self, code, field_, row, level, message, suggestion, fixable=False):
        self.report.counts[code] = self.report.counts.get(code, 0) + 1
        if self.listed[code] < MAX_RESULTS_PER_CODE:
            self.listed[code] += 1
            self.report.results.append(ValidationResult(code, field_, row, level, message, suggestion, fixable))


def validate(data, *, tokenizer=None, max_seq_length: int | None = None, preview: int = 0,
             min_examples: int = 50, system_prompt: str | None = None) -> Inspection:
    """One pass over the file: every problem, the first `preview` examples, and (with a tokenizer) the token
    statistics and the examples longer than `max_seq_length`, each example tokenized once."""
    info = data.info
    report = ValidationReport(str(data.path), info, readable=info.is_dataset)
    result = Inspection(report)
    issue = _Collector(report)
    if not info.is_dataset:
        issue.add("not_a_dataset", "file", None, "error", info.reason,
                  "Choose a JSON, JSONL, CSV, TSV, Parquet or text file with one example per row.")
        return result
    if info.encoding_warning:
        issue.add("legacy_encoding", "file", None, "warning", info.encoding_warning,
                  "Re-save the file as UTF-8, or let 'Fix automatically' write a UTF-8 copy.", True)

    head = [item for item in data.head if isinstance(item, Row)]
    bad_head = [item for item in data.head if isinstance(item, BadLine)]
    fatal = next((bad for bad in bad_head if bad.fatal), None)
    if not head and fatal is not None:  # nothing could be read at all: say why, not "no columns recognised"
        report.readable = False
        info.reason = _sentence(fatal.message)
        for bad in bad_head:
            _bad_line(issue, bad)
        return result
    report.schema = data.schema
    if report.schema is None:
        report.readable = bool(head)
        keys = sorted({str(k) for r in head for k in r.data})
        issue.add("unknown_schema", "columns", None, "error",
                  f"No prompt and response columns were recognised (columns: {', '.join(keys) or 'none'}).",
                  "Rename the columns to instruction/output or prompt/completion, or map them by hand.")
        for bad in bad_head:
            _bad_line(issue, bad)
        return result
    if report.schema.suggested:
        m = report.schema.mapping
        issue.add("suggested_mapping", "columns", None, "info",
                  f"'{m['prompt']}' will be used as the prompt and '{m['response']}' as the response.",
                  "Confirm this mapping, or choose other columns.")

    exact, near, lines = array("q"), array("q"), array("l")
    tokens = _TokenTally(tokenizer, max_seq_length) if tokenizer is not None else None
    for item in data.items():
        if isinstance(item, BadLine):
            _bad_line(issue, item)
            if item.fatal and report.rows_total == 0 and not head:
                report.readable = False
            continue
        report.rows_total += 1
        example = _check_row(issue, item, report.schema, system_prompt)
        if example is None:
            continue
        report.rows_usable += 1
        report.rows_with_tools += tool_calls.has_tools(example)
        text = example_text(example)
        report.char_lengths.append(len(text))
        exact.append(exact_key(example))
        near.append(checks.near_duplicate_key(text))
        lines.append(item.line)
        if len(result.preview) < preview:
            result.preview.append(_preview_item(item, example, tokenizer))
        if tokens is not None:
            tokens.add(item.line, example)

    _duplicates(issue, exact, near, lines)
    bias = length_bias(issue.pairs)
    if bias is not None and bias > LENGTH_BIAS:
        issue.add("length_bias", "chosen", None, "warning",
                  f"Chosen answers are {bias:.1f}x as long as rejected ones on average: the model may learn that "
                  "longer is better rather than what makes them better.",
                  "Add pairs where the better answer is the shorter one, or use SimPO or ORPO, which are less "
                  "sensitive to length.")
    _length_outliers(issue, report.char_lengths, lines)
    if report.rows_usable < min_examples:
        issue.add("too_few_examples", "file", None, "warning",
                  f"Only {report.rows_usable} usable examples; this use case needs about {min_examples} or more.",
                  "Add more examples, or expect the model to learn the format more than the content.")
    if tokens is not None:
        result.stats = tokens.finish(issue, report.rows_total, len(exact) - len(set(exact)))
    return result


def _preview_item(row: Row, example: dict, tokenizer) -> dict:
    """A row as the user wrote it, normalized, and (with a tokenizer) as the model will read it."""
    return {"row": row.line, "original": row.data, "example": example,
            "model_text": model_text(example, tokenizer) if tokenizer is not None else None}


def exact_key(example: dict) -> int:
    if "text" in example:
        return hash(example["text"])
    return hash(tuple((m["role"], m["content"], json.dumps(m.get("tool_calls"), sort_keys=True, default=str))
                      for m in example["messages"]))


def example_text(example: dict) -> str:
    if "text" in example:
        return example["text"]
    return "\n".join(m["content"] + "".join(tool_render.call_text(c) for c in m.get("tool_calls") or ())
                     for m in example["messages"])


def _sentence(message: str) -> str:
    """A reader's lower-case message ("line 3 is not valid JSON (...)") as a sentence for the report."""
    return message[:1].upper() + message[1:] + "."


def _bad_line(issue: _Collector, bad: BadLine) -> None:
    advice = bad.advice or ("Correct that line in the file, or let 'Fix automatically' drop it." if not bad.fatal
                            else "Correct the file at that position; nothing after it could be read.")
    issue.add("malformed_line", "file", bad.line, "error", _sentence(bad.message), advice, not bad.fatal)


def _check_row(issue: _Collector, row: Row, schema: Schema, system_prompt: str | None = None) -> dict | None:
    """Checks one row; returns its normalized example, or None when it cannot be trained on."""
    data, line = row.data, row.line
    for name in schema.required_fields:
        value = data.get(name)
        if name not in data or value is None:
            keys = ", ".join(sorted(map(str, data))[:6])
            other_format = keys and not any(field in data for field in schema.required_fields)
            mixed = f" (its keys are {keys}: the file mixes formats)" if other_format else ""
            issue.add("missing_field", name, line, "error", f"Row {line} has no '{name}'{mixed}.",
                      f"Add '{name}' to this row, or let 'Fix automatically' drop it.", True)
            return None
        if isinstance(value, str) and not value.strip():
            issue.add("empty_value", name, line, "error", f"Row {line} has an empty '{name}'.",
                      f"Write the {name} for this row, or let 'Fix automatically' drop it.", True)
            return None
        if schema.name == "kto" and name == "label":
            continue  # false is a value here
        if schema.name in ("openai", "sharegpt") and not isinstance(value, list):
            issue.add("wrong_type", name, line, "error", f"Row {line}: '{name}' should be a list of turns.",
                      "Make it a list such as [{\"role\": \"user\", \"content\": \"...\"}, ...].", True)
            return None
    if schema.is_preference:
        pair = preference_example(data, schema.name, system_prompt)
        if pair is None:
            issue.add("bad_label", "label", line, "error", f"Row {line}: 'label' must be true (a good answer) or "
                      "false (a bad one).", "Write true or false, or let 'Fix automatically' drop the row.", True)
            return None
        problems = preference_problems(pair)
        for code, level, message, suggestion in problems:
            issue.add(code, schema.required_fields[0], line, level, f"Row {line} {message}", suggestion,
                      level == "error")
        if any(level == "error" for _, level, _, _ in problems):
            return None
        issue.pairs.append(pair)
        # counted and previewed as the model reads it: the prompt and the chosen answer (or the judged one)
        example = {"messages": pair["prompt"] + (pair["chosen"] if "chosen" in pair else pair["completion"])}
    else:
        example = normalize_row(data, schema, system_prompt, require_exchange=False)  # said below
    if example is None:
        issue.add("no_reply", schema.required_fields[-1], line, "error",
                  f"Row {line} has no prompt with a reply to learn from (an empty answer, or no question).",
                  "Add the reply, or let 'Fix automatically' drop the row.", True)
        return None
    if "messages" in example:
        if not _check_roles(issue, example["messages"], line):
            return None
        if tool_calls.has_tools(example):
            problems = tool_calls.tool_problems(example, line)
            for code, level, message, suggestion, fixable in problems:
                issue.add(code, "messages", line, level, message, suggestion, fixable)
            if any(level == "error" for _, level, _, _, _ in problems):
                return None
    texts = ([(schema.required_fields[0], example["text"])] if "text" in example else
             [(_field_label(schema, index, message), message["content"])
              for index, message in enumerate(example["messages"])])
    _check_texts(issue, texts, line)
    return example


def _field_label(schema: Schema, index: int, message: dict) -> str:
    """Which column (or turn) a message came from, so a warning can name it."""
    role = message["role"]
    if schema.name in ("openai", "sharegpt"):
        return f"turn {index + 1} ({role})"
    if role == "system":
        return "system prompt"
    fields = schema.required_fields
    return fields[0] if role == "user" else fields[-1]


def _names(labels: list[str]) -> str:
    quoted = [f"'{label}'" for label in dict.fromkeys(labels)]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _check_roles(issue: _Collector, messages: list[dict], line: int) -> bool:
    """Role-order findings for one conversation; False when it cannot be trained on at all."""
    if not has_exchange(messages):
        issue.add("no_exchange", "messages", line, "error",
                  f"Row {line} has no user message answered by the assistant, so there is nothing to learn to answer.",
                  "Add the user's message before the assistant's reply, or let 'Fix automatically' drop the row.",
                  True)
        return False
    roles = [m["role"] for m in messages if m["role"] != "system"]
    if roles and roles[0] == "assistant":
        issue.add("role_order", "messages", line, "warning", f"Row {line}: the conversation starts with the assistant.",
                  "Start with the user's message (the model learns to answer, not to open), or let 'Fix "
                  "automatically' remove the opening assistant turn.", True)
    if any(a == b for a, b in zip(roles, roles[1:])):
        issue.add("role_order", "messages", line, "warning",
                  f"Row {line}: two turns in a row from the same speaker.",
                  "Merge the two turns, or add the missing turn between them.")
    if roles and roles[-1] == "user":
        issue.add("unanswered_turn", "messages", line, "warning",
                  f"Row {line}: the last user message has no reply.",
                  "Add the reply, or let 'Fix automatically' remove the unanswered turn.", True)
    unknown = sorted({m["role"] for m in messages} - {"system", "user", "assistant", "tool"})
    if unknown:
        issue.add("unknown_role", "messages", line, "warning", f"Row {line}: unknown role(s) {', '.join(unknown)}.",
                  "Use system, user and assistant (or human/gpt in ShareGPT files).")
    return True


def _check_texts(issue: _Collector, texts: list[tuple[str, str]], line: int) -> None:
    """Each text check once per row, naming the columns (or turns) where it found something."""
    def where(check) -> list[str]:
        return [label for label, text in texts if check(text)]

    if found := where(checks.has_surrogates):
        issue.add("encoding_damage", ", ".join(found), line, "error",
                  f"Row {line} holds broken characters (lone surrogates) in {_names(found)}.",
                  "Let 'Fix automatically' remove them, or re-export the file as UTF-8.", True)
    if found := where(checks.has_control):
        issue.add("control_characters", ", ".join(found), line, "warning",
                  f"Row {line} holds invisible control characters in {_names(found)}.",
                  "Let 'Fix automatically' remove them.", True)
    if found := where(checks.has_hidden):
        issue.add("hidden_characters", ", ".join(found), line, "warning",
                  f"Row {line} holds hidden right-to-left overrides or zero-width characters in {_names(found)}: "
                  "the text reads differently than it shows.",
                  "Let 'Fix automatically' remove them, or check where the text came from.", True)
    if found := where(checks.has_mojibake):
        issue.add("mojibake", ", ".join(found), line, "warning",
                  f"Row {line} has garbled accents (like 'Ã©' for 'é') in {_names(found)}: UTF-8 text was once "
                  "read wrongly.", "Let 'Fix automatically' repair the characters.", True)
    hints = {label: checks.personal_data_hints(text) for label, text in texts}
    if found := [label for label, kinds in hints.items() if kinds]:
        kinds = sorted({kind for label in found for kind in hints[label]})
        issue.add("personal_data", ", ".join(found), line, "info",
                  f"Row {line} seems to contain {' and '.join(kinds)} in {_names(found)}.",
                  "Remove or mask personal data unless the model should learn it.")


def first_occurrence(keys: array):
    """For each position, the position of the first equal key (numpy: flat memory for millions of rows)."""
    import numpy as np

    k = np.frombuffer(keys, dtype=np.int64) if len(keys) else np.zeros(0, dtype=np.int64)
    order = np.argsort(k, kind="stable")
    ordered = k[order]
    starts = np.ones(len(ordered), dtype=bool)
    starts[1:] = ordered[1:] != ordered[:-1]
    group_start = np.maximum.accumulate(np.where(starts, np.arange(len(ordered)), 0))
    first = np.empty_like(order)
    first[order] = order[group_start]
    return first


def _duplicates(issue: _Collector, exact: array, near: array, lines: array) -> None:
    import numpy as np

    first_exact, first_near = first_occurrence(exact), first_occurrence(near)
    positions = np.arange(len(exact))
    for i in np.nonzero((first_exact != positions) | (first_near != positions))[0].tolist():
        if first_exact[i] != i:
            issue.add("duplicate", "example", lines[i], "warning",
                      f"Row {lines[i]} repeats row {lines[first_exact[i]]} exactly.",
                      "Let 'Fix automatically' drop the repeat; repeats make the model memorise.", True)
        elif first_near[i] != i:
            issue.add("near_duplicate", "example", lines[i], "info",
                      f"Row {lines[i]} is nearly the same as row {lines[first_near[i]]} "
                      "(case, spacing or punctuation).",
                      "Let 'Fix automatically' drop it, or keep it if the difference matters.", True)


def _length_outliers(issue: _Collector, lengths: array, lines: array) -> None:
    if len(lengths) < 20:
        return
    ordered = sorted(lengths)
    q1, q3 = ordered[len(ordered) // 4], ordered[(3 * len(ordered)) // 4]
    median = ordered[len(ordered) // 2]
    upper = max(q3 + 3 * (q3 - q1), 4 * median)
    for i, n in enumerate(lengths):
        if n > upper:
            issue.add("length_outlier", "example", lines[i], "info",
                      f"Row {lines[i]} is {n} characters long, far longer than the typical {median}.",
                      "Check it is one example and not several pasted together.")
        elif n < 3:
            issue.add("length_outlier", "example", lines[i], "info", f"Row {lines[i]} is almost empty ({n} characters).",
                      "Check that this example says something the model should learn.")


class _TokenTally:
    """Each usable example tokenized once, in batches: its length for the statistics and for the check against
    the maximum sequence length, and its loss-carrying tokens."""

    def __init__(self, tokenizer, max_seq_length: int | None, batch: int = 512):
        self.counter = TokenCounter(tokenizer)
        self.model_max = getattr(tokenizer, "model_max_length", None)
        self.max_seq_length = max_seq_length
        self.batch, self.pending = batch, []
        self.lengths: list[int] = []
        self.loss_tokens = 0
        self.too_long: list[tuple[int, int]] = []

    def add(self, line: int, example: dict) -> None:
        self.pending.append((line, example))
        if len(self.pending) >= self.batch:
            self._flush()

    def _flush(self) -> None:
        counts = self.counter.count_with_loss([e for _, e in self.pending])
        for (line, _), (total, loss) in zip(self.pending, counts):
            self.lengths.append(total)
            self.loss_tokens += loss
            if self.max_seq_length and total > self.max_seq_length:
                self.too_long.append((line, total))
        self.pending = []

    def finish(self, issue: _Collector, rows: int, duplicates: int):
        self._flush()
        if self.too_long:
            listed = ", ".join(str(line) for line, _ in self.too_long[:10])
            issue.add("truncated", "example", self.too_long[0][0], "warning",
                      f"{len(self.too_long)} examples are longer than {self.max_seq_length} tokens and will be cut "
                      f"(rows {listed}{'...' if len(self.too_long) > 10 else ''}).",
                      "Raise the maximum sequence length, or shorten or split these examples.")
        return summarize(self.lengths, self.loss_tokens, rows, duplicates, self.model_max)
