"""`peftstudio synth`: documents to a training set, with a teacher model on this machine or the user's server."""
from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path

from peftstudio.cli import print_error, quiet_libraries
from peftstudio.engine.errors import PlainError


def synth_command(args) -> int:
    quiet_libraries()
    from tqdm import tqdm

    # lazy: off the start-up path (bench/startup.py)
    from peftstudio.engine.data import RECIPE_WORDS, recipe_for, synthesize
    from peftstudio.engine.planning import get_profile  # lazy: off the start-up path (bench/startup.py)
    from peftstudio.engine.teachers import teacher_from  # lazy: off the start-up path (bench/startup.py)

    cancel = threading.Event()
    bar = None

    def progress(done: int, total: int, message: str) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, initial=done, unit="example", file=sys.stderr, dynamic_ncols=True,
                       desc="examples")
        bar.n = done
        bar.set_postfix_str(message, refresh=True)

    def on_interrupt(signum, frame):
        print("\nStopping after this batch (run the same command again to continue)...", file=sys.stderr)
        cancel.set()

    try:
        profile = get_profile(args.profile)
        recipe = recipe_for(profile.id)
        print(f"{profile.name}: {RECIPE_WORDS[recipe]}", file=sys.stderr)
        teacher = None
        if recipe != "text":
            print(f"Loading the teacher ({args.teacher})...", file=sys.stderr)
            teacher = teacher_from(args.teacher, batch_size=args.batch_size)
        judge = teacher_from(args.judge, batch_size=1) if args.judge else None
        previous = signal.signal(signal.SIGINT, on_interrupt)
        try:
            result = synthesize(args.documents, teacher, profile.id, args.count, Path(args.out).expanduser(),
                                batch_size=args.batch_size, passage_tokens=args.passage_tokens, progress=progress,
                                cancel=cancel, judge=judge, reply_tokens=args.max_tokens)
        finally:
            signal.signal(signal.SIGINT, previous)
            if bar is not None:
                bar.close()
    except PlainError as error:
        print_error(error, args.json)
        return 1
    if args.json:
        print(json.dumps({"ok": True, **result.to_dict()}, default=str))
    elif result.stopped:
        print(f"Stopped with {result.rows} of {args.count} examples in {result.out}; run the same command again to "
              "make the rest.", file=sys.stderr)
    else:
        print(f"{result.rows} examples from {result.passages} passages of {result.documents} document(s) in "
              f"{result.out} ({result.flagged} flagged for review; the report is beside it).", file=sys.stderr)
    return 0
