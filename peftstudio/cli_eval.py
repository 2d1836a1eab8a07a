"""`peftstudio eval RUN [--judge MODEL_OR_URL] [--limit N] [--no-skills] [--json]`: the run's scorecard, with
progress and time left; the first Ctrl+C stops after the current batch and shows what was scored (not saved)."""
from __future__ import annotations

import json
import signal
import sys
import threading

from peftstudio.cli import percent_bar, print_error, quiet_libraries
from peftstudio.cli_runs import resolve_run_dir
from peftstudio.engine.errors import from_exception
from peftstudio.engine.evaluation import evaluate_run, headline, save_scorecard
from peftstudio.engine.paths import data_dir


def eval_command(args) -> int:
    quiet_libraries()
    bar, progress = percent_bar("Scorecard", width=48)
    cancel = threading.Event()

    def on_interrupt(signum, frame):  # the first Ctrl+C stops after this batch; the second stops at once
        print("\nStopping after the current batch (press Ctrl+C again to abort)...", file=sys.stderr)
        cancel.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        run_dir = resolve_run_dir(args.run)
        # --limit bounds the general-skills questions too: a quick card is quick all through
        card = evaluate_run(run_dir, judge=args.judge, limit=args.limit, skills=args.skills, progress=progress,
                            cancel=cancel, skills_limit=args.limit)
        if not card["cancelled"]:
            save_scorecard(run_dir, card)
    except Exception as exc:  # noqa: BLE001 - every failure is shown as a plain error
        bar.close()
        print_error(from_exception(exc, data_dir() / "diagnostics"), args.json)
        return 1
    finally:
        signal.signal(signal.SIGINT, previous)
    bar.close()
    if args.json:
        print(json.dumps({k: v for k, v in card.items() if k != "task_answers"}, default=str))
    else:
        if card["cancelled"]:
            print("Stopped: what was scored so far is below; this partial scorecard was not saved.")
        print("\n".join(headline(card)))
        for tip in card["suggestions"]:
            print(f"- {tip}")
    return 0
