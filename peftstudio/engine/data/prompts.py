"""A GRPO run's prompts: any supported dataset shape read as the conversation up to the answer, with the answer
(or a reference column) kept as the reference the checkers compare with; and the dataset check for such a file,
where a row without an answer is fine and a row without a prompt is skipped (a warning each). The report has
the shape the dataset page and the planner read for any other run."""
from __future__ import annotations

from array import array
from dataclasses import dataclass

from peftstudio.engine.config import TrainingConfig
from peftstudio.engine.data.dataset_file import DatasetFile
from peftstudio.engine.data.formats import read_rows
from peftstudio.engine.data.prepare import split_indices
from peftstudio.engine.data.reader import BadLine
from peftstudio.engine.data.schema import PROMPT_ALIASES, RESPONSE_ALIASES, Schema, guess_schema, normalize_row
from peftstudio.engine.data.validate import ValidationReport, ValidationResult
from peftstudio.engine.errors import PlainError
from peftstudio.engine.rewards import REFERENCE, ROW, RewardSet

REFERENCE_ALIASES = ("reference", "solution", "answer", "expected", "ground_truth", "target") + RESPONSE_ALIASES


@dataclass
class PromptData:
    train: list[dict]  # {"prompt": [messages], "reference": str | None, "row_number": int}
    validation: list[dict]
    schema: str
    from_cache: bool = False
    loss_tokens: int = 0  # counted while training: completions are written by the model
    config: TrainingConfig | None = None  # the rewards to measure held-back answers with


def prompt_row(row: dict, number: int, config: TrainingConfig) -> dict | None:
    """One row as a GRPO prompt: the conversation up to the answer, and the answer as a reference."""
    schema = guess_schema([row], config.column_mapping or None)
    reference = next((row[k] for k in REFERENCE_ALIASES if row.get(k) not in (None, "")), None)
    messages = None
    if schema is not None and schema.name != "text":
        example = normalize_row(row, schema, config.system_prompt)
        if example is not None:
            last = max(i for i, m in enumerate(example["messages"]) if m["role"] == "assistant")
            messages, reference = example["messages"][:last], example["messages"][last]["content"]
    if messages is None:  # prompts only: the first prompt-like column
        prompt = next((str(row[k]).strip() for k in PROMPT_ALIASES if str(row.get(k) or "").strip()), "")
        if not prompt:
            return None
        messages = ([{"role": "system", "content": config.system_prompt}] if config.system_prompt else []) + \
            [{"role": "user", "content": prompt}]
    return {"prompt": messages, REFERENCE: None if reference is None else str(reference), ROW: number}


def prepare_prompts(config: TrainingConfig) -> PromptData:
    rewards = RewardSet.from_config(config)  # a bad reward fails here, before the model loads
    rows = read_rows(config.dataset_path)
    prompts = [p for p in (prompt_row(r, i + 1, config) for i, r in enumerate(rows)) if p is not None]
    if len(prompts) < 2:
        raise PlainError(
            title="Too few prompts",
            what=f"{len(prompts)} of {len(rows)} rows hold a prompt.",
            why="GRPO needs prompts for the model to answer (a column such as prompt, question or instruction, "
                "or chat messages).",
            actions=["Name the column with the prompts 'prompt'.", "Add more rows."],
            help_topic="rewards",
        )
    if rewards.needs_reference and not any(p[REFERENCE] for p in prompts):
        raise PlainError(
            title="These rewards need reference answers",
            what=f"{', '.join(s.name for s in rewards.specs)}: the dataset has no reference answer column.",
            why="exact, contains, number and math compare each answer with the row's reference answer.",
            actions=["Add a column named reference (or answer, solution).",
                     "Or use checkers that need no reference: json, regex, length, format, or your own file."],
            help_topic="rewards",
        )
    train_idx, val_idx = split_indices(len(prompts), config.validation_split, config.seed)
    return PromptData([prompts[i] for i in train_idx], [prompts[i] for i in val_idx], "prompts", config=config)



# ---- the dataset check ------------------------------------------------------------------------------
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
