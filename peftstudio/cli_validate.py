"""`peftstudio validate FILE [--json] [--model M] [--fix OUT]`: exit 0 clean or warnings, 1 errors, 2 unreadable."""
from __future__ import annotations

import json
import sys

from peftstudio.cli import print_error, quiet_libraries
from peftstudio.engine.data import DatasetFile, repair_file
from peftstudio.engine.errors import PlainError
from peftstudio.engine.models import load_tokenizer, resolve_model, trainable_folder

LEVEL_MARK = {"error": "ERROR  ", "warning": "warning", "info": "info   "}


def _tokenizer_for(model: str):
    return load_tokenizer(trainable_folder(resolve_model(model)))


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def validate_command(args) -> int:
    quiet_libraries()

    try:
        mapping = json.loads(args.mapping) if args.mapping else None
        if mapping is not None and not (isinstance(mapping, dict) and all(
                isinstance(k, str) and isinstance(v, str) for k, v in mapping.items())):
            raise PlainError(title="The column mapping has the wrong shape",
                             what=f"--mapping {args.mapping[:200]!r} is not a set of name: column pairs.",
                             why='It must look like {"prompt": "question_column", "response": "answer_column"}.',
                             actions=["Write the mapping as one JSON object of texts.",
                                      "Rename the columns in the file instead."],
                             help_topic="datasets")
        tokenizer = _tokenizer_for(args.model) if args.model else None
    except PlainError as error:
        print_error(error, args.json)
        return 2
    except (json.JSONDecodeError, RecursionError):
        error = PlainError(title="The column mapping is not valid JSON",
                           what=f"--mapping {args.mapping!r} could not be read.",
                           why='It must look like {"prompt": "question_column", "response": "answer_column"}.',
                           actions=["Fix the quoting of --mapping.", "Rename the columns in the file instead."],
                           help_topic="datasets")
        print_error(error, args.json)
        return 2

    with DatasetFile.open(args.file, mapping) as data:  # one pass: problems, preview and token statistics
        found = data.inspect(tokenizer, max_seq_length=args.max_seq_length if tokenizer else None,
                             preview=args.preview)
    report = found.report
    document = report.to_dict()
    if report.readable and report.schema is not None:
        if found.stats is not None:
            document["stats"] = found.stats.to_dict()
        document["preview"] = [{k: v for k, v in p.items() if k != "original"} for p in found.preview]
    if args.fix:
        try:
            document["repair"] = repair_file(args.file, args.fix, mapping).to_dict()
        except PlainError as error:
            print_error(error, args.json)
            return 2 if not report.readable else 1
    if args.json:
        print(json.dumps(document, default=str))
    else:
        _print_report(document)
    return report.exit_code


def _print_report(doc: dict) -> None:
    out = sys.stdout
    fmt = doc["format"]
    if not doc["readable"]:
        print(f"{doc['path']}: not a dataset. {fmt['reason'] or ''}", file=out)
    schema = doc.get("schema") or {}
    print(f"{doc['path']}: {fmt['format'] or '?'} ({fmt['encoding']}), schema {schema.get('name', '?')}, "
          f"{doc['rows_total']} rows, {doc['rows_usable']} usable, {plural(doc['errors'], 'error')}, "
          f"{plural(doc['warnings'], 'warning')}", file=out)
    for result in doc["results"]:
        where = f"row {result['row']}: " if result["row"] is not None else ""
        print(f"  {LEVEL_MARK[result['level']]} {where}{result['message']}\n            -> {result['suggestion']}",
              file=out)
    listed = len(doc["results"])
    total = sum(doc["counts"].values())
    if total > listed:
        print(f"  ... and {total - listed} more of the same kinds ({doc['counts']})", file=out)
    stats = doc.get("stats")
    if stats:
        print(f"tokens per example: mean {stats['tokens_mean']:.0f}, median {stats['tokens_p50']}, "
              f"p95 {stats['tokens_p95']}, max {stats['tokens_max']}; {stats['loss_tokens_per_epoch']} "
              f"loss-carrying tokens per epoch; recommended max length {stats['recommended_max_seq_length']}",
              file=out)
    repair = doc.get("repair")
    if repair:
        print(f"repaired copy: {repair['output']} ({repair['rows_out']} of {repair['rows_in']} rows kept; "
              f"{dict(repair['counts'])})", file=out)
