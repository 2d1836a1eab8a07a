"""The dataset check for a GRPO run: a file of prompts (reference answers optional) is a good dataset here, where
the supervised check would call every row without an answer an error. Rows without a prompt are skipped (a
warning each); the report has the same shape the dataset page and the planner read for any other run."""
from __future__ import annotations

from array import array

from peftstudio.engine.config import TrainingConfig
from peftstudio.engine.data import DatasetFile
from peftstudio.engine.data.reader import BadLine
from peftstudio.engine.data.schema import Schema
from peftstudio.engine.data.validate import ValidationReport, ValidationResult
from peftstudio.engine.rewards import REFERENCE
from peftstudio.engine.training.grpo import prompt_row

PROMPTS = Schema("prompts")
FEW_PROMPTS = 16  # fewer than this and the held-back measurement has almost nothing to measure
LISTED = 20  # rows listed per kind of problem
PREVIEW = 50  # rows the dataset page shows
REFERENCE_ANSWERS = "reference_answers"  # in report.counts: how many prompts have one


def prompt_report(path: str, config: TrainingConfig, preview: list | None = None) -> ValidationReport:
    """The report; with a `preview` list, the first PREVIEW rows are appended to it as the dataset page shows
    rows: {"row", "example": the prompt's messages and the reference as the answer, "original": the row}."""
    with DatasetFile.open(path, config.column_mapping or None) as data:
        report = ValidationReport(str(path), data.info, readable=data.info.is_dataset)
        if not report.readable:
            return report
        report.schema = PROMPTS
        lengths, references, skipped = array("l"), 0, 0
        for item in data.items():
            report.rows_total += 1
            if isinstance(item, BadLine):
                _add(report, "malformed_line", report.rows_total, "error", item.message,
                     "Repair or delete this line.", fixable=True)
                continue
            prompt = prompt_row(item.data, report.rows_total, config)
            if prompt is None:
                skipped += 1
                if skipped <= LISTED:
                    _add(report, "no_prompt", report.rows_total, "warning", f"Row {report.rows_total} has no prompt.",
                         "Name the prompt column 'prompt' (or question, instruction); this row is skipped.")
                continue
            report.rows_usable += 1
            references += prompt[REFERENCE] is not None
            if preview is not None and len(preview) < PREVIEW:
                answer = [{"role": "assistant", "content": prompt[REFERENCE]}] if prompt[REFERENCE] else []
                preview.append({"row": report.rows_total, "example": {"messages": prompt["prompt"] + answer},
                                "original": item.data})
            lengths.append(sum(len(str(m["content"])) for m in prompt["prompt"]))
        report.char_lengths = lengths
        report.counts[REFERENCE_ANSWERS] = references
    if report.rows_usable == 0:
        _add(report, "no_prompts", None, "error", "No row holds a prompt.",
             "Name the column with the prompts 'prompt', or use chat messages.")
    elif report.rows_usable < FEW_PROMPTS:
        _add(report, "few_prompts", None, "warning", f"Only {report.rows_usable} prompts.",
             f"Add more prompts: with {FEW_PROMPTS} or more, some are held back to measure what the run taught.")
    _add(report, "references", None, "info",
         f"{references} of {report.rows_usable} prompts have a reference answer." if references else
         "No reference answers: use checkers that need none (json, regex, length, format) or your own file.",
         "exact, contains, number and math compare answers with the reference.")
    return report


def _add(report, code, row, level, message, suggestion, fixable=False) -> None:
    report.counts[code] = report.counts.get(code, 0) + 1
    report.results.append(ValidationResult(code, "prompt", row, level, message, suggestion, fixable))
