"""`peftstudio eval RUN [--judge MODEL_OR_URL] [--limit N] [--no-skills] [--json]`: the run's scorecard."""
from __future__ import annotations

import json
import sys

from peftstudio.cli import print_error, quiet_libraries
from peftstudio.cli_runs import resolve_run_dir
from peftstudio.engine.errors import from_exception
from peftstudio.engine.evaluation import evaluate_run, headline, save_scorecard
from peftstudio.engine.paths import data_dir


def eval_command(args) -> int:
    from tqdm import tqdm

    quiet_libraries()
    bar = tqdm(total=100, unit="%", file=sys.stderr, desc="Scorecard", bar_format="{l_bar}{bar}| {n:.0f}% {postfix}")

    def progress(fraction: float, message: str) -> None:
        bar.n = round(100 * fraction)
        bar.set_postfix_str(message[:48])
        bar.refresh()

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
