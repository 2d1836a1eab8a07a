"""`peftstudio eval RUN [--judge MODEL_OR_URL] [--limit N] [--no-skills] [--json]`: the run's scorecard."""
from __future__ import annotations

import json

from peftstudio.cli import percent_bar, print_error, quiet_libraries
from peftstudio.cli_runs import resolve_run_dir
from peftstudio.engine.errors import from_exception
from peftstudio.engine.evaluation import evaluate_run, headline, save_scorecard
from peftstudio.engine.paths import data_dir


def eval_command(args) -> int:
    quiet_libraries()
    bar, progress = percent_bar("Scorecard", width=48)

    try:
        run_dir = resolve_run_dir(args.run)
        card = evaluate_run(run_dir, judge=args.judge, limit=args.limit, skills=args.skills, progress=progress)
        save_scorecard(run_dir, card)
    except Exception as exc:  # noqa: BLE001 - every failure is shown as a plain error
        bar.close()
        print_error(from_exception(exc, data_dir() / "diagnostics"), args.json)
        return 1
    bar.close()
    if args.json:
        print(json.dumps({k: v for k, v in card.items() if k != "task_answers"}, default=str))
    else:
        print("\n".join(headline(card)))
        for tip in card["suggestions"]:
            print(f"- {tip}")
    return 0
