"""The task metric that fits each use case, from the field's implementations where they exist.

ROUGE-L comes from `rouge-score` (Google's reference implementation), chrF from `sacrebleu`. Exact match and
token F1 follow the SQuAD evaluation script's definitions (lower case, no punctuation or articles, then
token overlap); they are a few lines, and the libraries that ship them (`evaluate`) would pull in a large
dependency tree for that, so they are written here. JSON validity and equality (the JSON-answers use case) are
the standard library's `json` with a code fence allowed around the answer; following the run's answer schema is
`jsonschema`'s check.
"""
from __future__ import annotations

import json
import re
import string
from collections import Counter
from dataclasses import dataclass


@dataclass(frozen=True)
class TaskMetric:
    name: str          # the key in the scorecard
    label: str         # what a user reads
    higher_is_better: bool = True


METRICS = {
    "token_f1": TaskMetric("token_f1", "word overlap with the reference answer (F1)"),
    "exact_match": TaskMetric("exact_match", "answers exactly right"),
    "rouge_l": TaskMetric("rouge_l", "overlap with the reference summary (ROUGE-L)"),
    "chrf": TaskMetric("chrf", "closeness to the reference answer (chrF)"),
    "perplexity": TaskMetric("perplexity", "surprise at the held-back texts (perplexity)", higher_is_better=False),
    "json_valid": TaskMetric("json_valid", "answers that are valid JSON"),
    "json_equal": TaskMetric("json_equal", "answers whose JSON equals the reference's"),
}
# the use case's main metric, then the others it reports
PROFILE_METRICS = {
    "question-answering": ("token_f1", "exact_match"),
    "summarization": ("rouge_l",),
    "chatbot": ("chrf",),
    "creative-writing": ("chrf",),
    "code-generation": ("chrf",),
    "domain-adaptation": ("perplexity", "chrf"),
    "json-answers": ("json_valid", "json_equal"),
}


def metrics_for(profile_id: str | None) -> tuple[str, ...]:
    return PROFILE_METRICS.get(profile_id or "", ("chrf",))


def _normalize(text: str) -> str:
    text = "".join(ch for ch in text.lower() if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def exact_match(prediction: str, reference: str) -> float:
    return float(_normalize(prediction) == _normalize(reference))


def token_f1(prediction: str, reference: str) -> float:
    predicted, wanted = _normalize(prediction).split(), _normalize(reference).split()
    common = sum((Counter(predicted) & Counter(wanted)).values())
    if not predicted or not wanted or common == 0:
        return float(predicted == wanted)
    precision, recall = common / len(predicted), common / len(wanted)
    return 2 * precision * recall / (precision + recall)


def rouge_l(prediction: str, reference: str) -> float:
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True).score(reference, prediction)["rougeL"].fmeasure


def chrf(prediction: str, reference: str) -> float:
    from sacrebleu.metrics import CHRF

    return CHRF().sentence_score(prediction, [reference]).score / 100.0


JSON_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)


def json_value(text: str) -> tuple[bool, object]:
    """(parsed, value) of an answer meant to be JSON; a Markdown code fence around it is allowed."""
    body = text.strip()
    fenced = JSON_FENCE.match(body)
    try:
        return True, json.loads(fenced.group(1) if fenced else body)
    except ValueError:
        return False, None


def json_valid(prediction: str, reference: str) -> float:
    return float(json_value(prediction)[0])


def json_equal(prediction: str, reference: str) -> float:
    """Equal as JSON values: key order and spacing do not matter, 1 and 1.0 are equal."""
    (ok, got), (reference_ok, wanted) = json_value(prediction), json_value(reference)
    return float(ok and reference_ok and got == wanted)


def schema_problem(prediction: str, schema: dict) -> str | None:
    """None when the answer is JSON that follows the schema, else what is wrong, in a few words (jsonschema's)."""
    from jsonschema import validators

    ok, value = json_value(prediction)
    if not ok:
        return "not valid JSON"
    error = next(iter(validators.validator_for(schema)(schema).iter_errors(value)), None)
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path)
    return f"{where + ': ' if where else ''}{error.message}"[:200]


def schema_valid_rate(predictions: list[str], schema: dict) -> float:
    return sum(schema_problem(p, schema) is None for p in predictions) / len(predictions) if predictions else 0.0


SCORERS = {"token_f1": token_f1, "exact_match": exact_match, "rouge_l": rouge_l, "chrf": chrf,
           "json_valid": json_valid, "json_equal": json_equal}


def mean_score(name: str, predictions: list[str], references: list[str]) -> float:
    scorer = SCORERS[name]
    values = [scorer(p, r) for p, r in zip(predictions, references)]
    return sum(values) / len(values) if values else 0.0
