"""The built-in checkers a GRPO run can be rewarded by, declared once: the CLI's `--reward` help, the wizard's
picker and the scorecard read this table.

Each checker gets the prompt, the completion (text) and the dataset row, plus its own arguments, and returns a
score in [0, 1]. Answer equivalence for `number` and `math` is math-verify's (the checker TRL's own examples
use); JSON Schema validation is jsonschema's; the rest is a line or two each.
"""
from __future__ import annotations

import builtins
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from peftstudio.engine.errors import PlainError

THINK = re.compile(r"^\s*<think>(.+?)</think>\s*(\S.*)$", re.DOTALL)


@dataclass(frozen=True)
class Checker:
    name: str
    help: str
    arguments: dict  # argument -> its default (None: required or unset)
    needs_reference: bool
    score: Callable  # (prompt, completion, row, reference, **arguments) -> float


def answer_part(completion: str) -> str:
    """The answer after a thinking block, or the whole completion (thinking is not the answer)."""
    match = THINK.match(completion)
    return match.group(2) if match else completion


def _text(value) -> str:
    return "" if value is None else str(value)


def _exact(prompt, completion, row, reference, case="insensitive"):
    answer, wanted = answer_part(completion).strip(), _text(reference).strip()
    return float(answer == wanted if case == "sensitive" else answer.lower() == wanted.lower())


def _contains(prompt, completion, row, reference, case="insensitive"):
    answer, wanted = answer_part(completion), _text(reference).strip()
    if not wanted:
        return 0.0
    return float(wanted in answer if case == "sensitive" else wanted.lower() in answer.lower())


def _math(prompt, completion, row, reference):
    from math_verify import parse, verify  # lazy: defers sympy (about a second to import)

    # no signal-based timeouts: a GUI run checks off the main thread, where signals cannot be set
    gold = parse(_text(reference), parsing_timeout=None)
    if not gold:
        gold = parse(f"${_text(reference)}$", parsing_timeout=None)
    answer = parse(answer_part(completion), parsing_timeout=None)
    return float(bool(gold) and bool(answer) and verify(gold, answer, timeout_seconds=None))


def _number(prompt, completion, row, reference, tolerance="0"):
    numbers = re.findall(r"-?\d[\d,]*\.?\d*(?:[eE][-+]?\d+)?", answer_part(completion))
    try:
        wanted = float(_text(reference).replace(",", "").strip())
    except ValueError:
        return _math(prompt, completion, row, reference)  # "1/2", "\frac{1}{2}": math-verify decides
    if not numbers:
        return 0.0
    last = float(numbers[-1].replace(",", "").rstrip("."))
    return float(abs(last - wanted) <= float(tolerance) + 1e-9 * max(1.0, abs(wanted)))


def _json(prompt, completion, row, reference, schema=None):
    text = answer_part(completion).strip()
    fenced = re.match(r"^```(?:json)?\s*(.*?)\s*```$", text, re.DOTALL)
    try:
        value = json.loads(fenced.group(1) if fenced else text)
    except ValueError:
        return 0.0
    if not schema:
        return 1.0
    import jsonschema  # lazy: only runs that name a schema need it

    try:
        jsonschema.validate(value, _schema(schema))
    except jsonschema.ValidationError:
        return 0.0
    return 1.0


_SCHEMAS: dict[str, dict] = {}


def _schema(path: str) -> dict:
    if path not in _SCHEMAS:
        _SCHEMAS[path] = read_schema(path)
    return _SCHEMAS[path]


def read_schema(path: str) -> dict:
    """A JSON Schema file, checked once before training (a broken schema is the user's to fix, in words)."""
    import jsonschema  # lazy: only runs that name a schema need it

    try:
        schema = json.loads(Path(path).expanduser().read_text(encoding="utf-8"))
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except (OSError, ValueError, jsonschema.SchemaError) as error:
        raise PlainError(
            title="The JSON schema cannot be used",
            what=f"{path}: {str(error).splitlines()[0][:200]}",
            why="The json reward checks each answer against this schema, so it must be a readable JSON Schema.",
            actions=["Check the path and that the file is valid JSON.",
                     "Validate the schema at json-schema.org, or leave schema out to accept any JSON."],
            help_topic="rewards",
        ) from None
    return schema


def _regex(prompt, completion, row, reference, pattern=None, mode="search"):
    compiled = re.compile(pattern or "", re.DOTALL)
    matcher = compiled.fullmatch if mode == "full" else compiled.search
    return float(matcher(answer_part(completion).strip() if mode == "full" else completion) is not None)


def _length(prompt, completion, row, reference, min="1", max="50", unit="words"):
    text = answer_part(completion)
    count = len(text.split()) if unit == "words" else len(text)
    low, high = float(min), float(max)
    if low <= count <= high:
        return 1.0
    # partial credit near the window (a gradient to climb), nothing once the distance reaches the window's top
    distance = low - count if count < low else count - high
    return float(builtins.max(0.0, 1.0 - distance / builtins.max(high, 1.0)))  # `max` is an argument here


def _format(prompt, completion, row, reference):
    return float(THINK.match(completion) is not None)


CHECKERS: dict[str, Checker] = {c.name: c for c in (
    Checker("exact", "the answer equals the reference column (case ignored unless case=sensitive)",
            {"case": "insensitive"}, True, _exact),
    Checker("contains", "the answer contains the reference column's text", {"case": "insensitive"}, True, _contains),
    Checker("number", "the last number in the answer equals the reference (within tolerance=)",
            {"tolerance": "0"}, True, _number),
    Checker("math", "the answer is mathematically equal to the reference (math-verify)", {}, True, _math),
    Checker("json", "the answer parses as JSON (and matches schema=FILE.json when given)", {"schema": None},
            False, _json),
    Checker("regex", "the completion matches pattern= (mode=full: the whole answer must match)",
            {"pattern": None, "mode": "search"}, False, _regex),
    Checker("length", "the answer is min= to max= words long (unit=chars for characters); partial credit near it",
            {"min": "1", "max": "50", "unit": "words"}, False, _length),
    Checker("format", "a <think>...</think> block, then an answer", {}, False, _format),
)}
