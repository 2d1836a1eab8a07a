"""`peftstudio queue` and `peftstudio sweep`: runs lined up for the night, and several settings tried in turn."""
from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path

from peftstudio.cli import print_error, quiet_libraries
from peftstudio.engine.errors import PlainError


def _queued_config(args):
    """The settings of the run to queue (planned now, so the queue can say when it starts and ends)."""
    from peftstudio.cli_train import continued_config, new_run_config  # lazy: off the start-up path (bench/startup.py)

    if getattr(args, "continue_from", None):
        config, facts, version = continued_config(args)
        return config, facts, args.title or f"{version['model_name']} v{version['version']}, continued"
    if not args.model and not args.config:
        raise PlainError(title="No model was given", what="A queued run needs a model and a dataset.",
                         why="--model was not set and no --config names one.",
                         actions=["Add --model and --dataset, as for 'peftstudio train'.",
                                  "Or pass --config with a file that names the model and the dataset."],
                         help_topic="queue")
    config = new_run_config(args)
    title = args.title or f"{config.model_name.split('/')[-1]} on {Path(config.dataset_path).name}"
    annotations = {"profile_id": args.profile} if args.profile else {}
    return config, annotations, title


def _when(seconds: float) -> str:
    return time.strftime("%a %H:%M", time.localtime(seconds))


def print_queue(queue, as_json: bool, include_ended: bool) -> None:
    from peftstudio.engine.planning import format_duration  # lazy: off the start-up path (bench/startup.py)

    scheduled = {s.item.id: s for s in queue.schedule()}
    items = queue.items(include_ended=include_ended)
    if as_json:
        print(json.dumps({"paused": queue.paused(), "items": [
            {**i.to_dict(), "estimated_start": scheduled[i.id].start if i.id in scheduled else None,
             "estimated_end": scheduled[i.id].end if i.id in scheduled else None} for i in items]}, default=str))
        return
    if not items:
        print("The queue is empty." + (" (paused)" if queue.paused() else ""))
        return
    print("Queue" + (" (paused: 'peftstudio queue start' goes on)" if queue.paused() else "") + ":")
    for place, item in enumerate(items, start=1):
        when = ""
        if item.id in scheduled:
            s = scheduled[item.id]
            when = f"  {_when(s.start)} -> {_when(s.end)} (about {format_duration(s.end - s.start)})"
        result = item.outcome.get("reason") or item.outcome.get("version") or ""
        print(f"  #{item.id:<4} {item.state:<8} {item.title}{when}" + (f"  {result}" if result else ""))


def run_queue(as_json: bool) -> int:
    """Train the queued runs in this process, with a progress bar per run; Ctrl+C pauses the queue."""
    from peftstudio.cli_train import ProgressBar  # lazy: off the start-up path (bench/startup.py)
    from peftstudio.engine.training import QueueRunner, RunQueue  # lazy: off the start-up path (bench/startup.py)

    queue = RunQueue()
    queue.set_paused(False)
    bars = {}

    def on_event(event, item):
        bars.setdefault(item.id, ProgressBar())(event)

    def on_item(phase, item):
        if phase == "started":
            print(f"[queue] #{item.id} {item.title}: {item.run_dir}", file=sys.stderr)
        elif phase == "ended":
            bar = bars.pop(item.id, None)
            if bar is not None:
                bar.close()
            detail = item.outcome.get("reason") or item.outcome.get("version") or ""
            print(f"[queue] #{item.id} {item.state}" + (f": {detail}" if detail else ""), file=sys.stderr)
        elif phase == "done":
            print("[queue] done: every queued run has ended", file=sys.stderr)

    runner = QueueRunner(queue, on_event, on_item)

    def on_interrupt(signum, frame):
        print("\nPausing the queue at the end of this step ('peftstudio queue start' goes on)...", file=sys.stderr)
        runner.pause()

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        ended = runner.run()
    finally:
        signal.signal(signal.SIGINT, previous)
        for bar in bars.values():
            bar.close()
    if as_json:
        print(json.dumps({"ended": [i.to_dict() for i in ended], "left": len(queue.items())}, default=str))
    return 0


def queue_command(args) -> int:
    quiet_libraries()
    # lazy: off the start-up path (bench/startup.py)
    from peftstudio.engine.planning import format_duration, planned_seconds
    from peftstudio.engine.training import RunQueue  # lazy: off the start-up path (bench/startup.py)

    queue = RunQueue()
    try:
        if args.action == "add":
            config, annotations, title = _queued_config(args)
            seconds = planned_seconds(config)
            item = queue.add(config.to_dict(), title, annotations, seconds)
            if args.json:
                print(json.dumps(item.to_dict(), default=str))
            else:
                print(f"Queued #{item.id}: {title} (about {format_duration(seconds)}). "
                      "Start the queue with 'peftstudio queue start'.")
        elif args.action == "list":
            print_queue(queue, args.json, args.all)
        elif args.action in ("remove", "move"):
            if args.item is None:
                raise PlainError(title="Which queued run?", what=f"'queue {args.action}' needs the run's number.",
                                 why="The number is shown by 'peftstudio queue list'.",
                                 actions=[f"peftstudio queue {args.action} NUMBER"
                                          + (" --to PLACE" if args.action == "move" else ""),
                                          "See the numbers with 'peftstudio queue list'."], help_topic="queue")
            if args.action == "remove":
                queue.remove(args.item)
            else:
                queue.move(args.item, args.to or 1)
            print_queue(queue, args.json, False)
        elif args.action == "pause":
            queue.set_paused(True)
            print("The queue pauses at the end of the current step (its run keeps a checkpoint).", file=sys.stderr)
        else:
            return run_queue(args.json)
    except PlainError as error:
        print_error(error, args.json)
        return 1
    return 0


# ---- sweeps -------------------------------------------------------------------------------------------
def print_results(found, as_json: bool) -> None:
    from peftstudio.engine.planning import format_duration  # lazy: off the start-up path (bench/startup.py)

    if as_json:
        print(json.dumps(found.to_dict(), default=str))
        return
    plan = found.plan
    print(f"{plan.title} ({found.sweep_id}): {plan.sampler}, {plan.objective} ({plan.direction}); "
          f"varies {'; '.join(d.describe() for d in plan.dimensions)}")
    for trial in found.trials:
        mark = " <- best" if found.best is trial else ""
        value = f"{trial.value:.4f}" if trial.value is not None else "-"
        params = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in trial.params.items())
        number = "" if trial.number is None else f"{trial.number + 1}"
        print(f"  trial {number:<3} {trial.state:<8} {value:<9} {params}{mark}")
    if found.wall_seconds is not None:
        print(f"Took {format_duration(found.wall_seconds)} (planned: {format_duration(found.planned_seconds)}).")
    if found.kept_run:
        print(f"Kept: {found.kept_run}")
    elif found.best is not None and found.finished:
        print(f"Make the best trial the version: peftstudio sweep --keep-best {found.sweep_id}")


def sweep_command(args) -> int:
    quiet_libraries()
    from peftstudio.engine.planning import format_duration  # lazy: off the start-up path (bench/startup.py)
    # lazy: off the start-up path (bench/startup.py)
    from peftstudio.engine.training import create_sweep, keep_best, list_sweeps, parse_vary, plan_sweep, results

    try:
        if args.list:
            sweeps = list_sweeps()
            print(json.dumps(sweeps) if args.json else "\n".join(f"{s['id']}  {s['title']}" for s in sweeps)
                  or "No sweeps yet.")
            return 0
        if args.show:
            print_results(results(args.show), args.json)
            return 0
        if args.keep_best:
            version = keep_best(args.keep_best)
            print(json.dumps(version, default=str) if args.json else
                  f"Kept as {version['model_name']} v{version['version']} ({version['run_id']}).")
            return 0
        if not args.vary:
            raise PlainError(title="Nothing to vary", what="A sweep needs --vary.",
                             why="It tries several values of the settings you name.",
                             actions=["Add e.g. --vary lr=1e-4:5e-4:log,lora_r=8,16,32",
                                      "See 'peftstudio sweep --help' for the settings a sweep can vary."],
                             help_topic="sweeps")
        args.title = None
        config, annotations, _ = _queued_config(args)
        plan = plan_sweep(config.to_dict(), parse_vary(args.vary), args.sampler, args.trials, args.hours,
                          args.objective, args.seed, annotations=annotations)
        sweep_id = create_sweep(plan)
        print(f"Sweep {sweep_id}: {plan.trials} trials of about {format_duration(plan.trial_seconds)} each "
              f"(about {format_duration(plan.planned_seconds)} in all), queued.", file=sys.stderr)
        if args.start:
            run_queue(as_json=False)  # its lines go to stderr
        print_results(results(sweep_id), args.json)
    except PlainError as error:
        print_error(error, args.json)
        return 1
    return 0

