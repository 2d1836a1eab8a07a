"""`peftstudio train`: checks the inputs first, then runs a session with a progress bar."""
from __future__ import annotations

import json
import shutil
import signal
import sys
from pathlib import Path

from peftstudio.cli import print_error, quiet_libraries, read_config_argument, read_small_file
from peftstudio.engine import paths
from peftstudio.engine.config import TrainingConfig
from peftstudio.engine.consent import grant, grant_code
from peftstudio.engine.data import detect_schema, prepare_prompts, read_rows
from peftstudio.engine.errors import PlainError, Terminated, disk_full
from peftstudio.engine.models import check_chat_template, resolve_model
from peftstudio.engine.planning import dataset_summary, get_profile, hardware_profile, model_facts, plan
from peftstudio.engine.runs import RunFolder, Status, is_main
from peftstudio.engine.training import LaunchPlan, Runner, TrainingSession, cluster_command

MIN_FREE_BYTES = 512 * 2**20  # adapter + a few checkpoints of a LoRA run, with room to spare


def preflight(config) -> None:
    """Everything that can be checked before a run folder exists: nothing half-made on bad input."""
    config.check()
    if not config.dataset_path:
        raise PlainError(
            title="No dataset was given",
            what="Training needs a dataset file.",
            why="--dataset was not set and the configuration names no dataset.",
            actions=["Add --dataset FILE (JSON, JSONL, CSV, TSV or TXT).",
                     "Try the bundled sample dataset to see the expected shape."],
            help_topic="datasets",
        )
    if config.training_method == "grpo":  # prompts and rewards, checked before a run folder exists
        prepare_prompts(config)
    else:
        detect_schema(read_rows(config.dataset_path), config.column_mapping or None)
    source = resolve_model(config.model_path or config.model_name)
    if source.gguf_file is None:  # a folder's tokenizer loads in a moment: its chat template is tried here
        check_chat_template(source.folder, config.trust_remote_code)


def planned_config(config, profile_id: str):
    """The planner's settings for this machine, model, dataset and use case (explicit settings win)."""
    profile = get_profile(profile_id)
    model = config.model_path or config.model_name
    data = dataset_summary(Path(config.dataset_path), model, config.column_mapping or None)
    result = plan(model_facts(model), hardware_profile(), data, profile, config)
    if not result.feasible:
        raise PlainError(
            title="This model does not fit on this machine",
            what=result.explanation,
            why="Training needs the model's weights, the adapter and one batch of activations in memory at once.",
            actions=["Pick one of the alternatives shown by 'peftstudio plan'.",
                     "Choose a smaller model, or train on a machine with more memory."],
            help_topic="out-of-memory",
        )
    return result.config


def continued_config(args):
    """The settings of a new run (a child version) that trains a finished version further, and its facts."""
    from peftstudio.engine.history import default_store  # lazy: off the start-up path (bench/startup.py)
    # lazy: off the start-up path (bench/startup.py)
    from peftstudio.engine.training import continue_config, parse_reference, version_to_continue

    version = version_to_continue(default_store(), *parse_reference(args.continue_from))
    preference = getattr(args, "method", None) not in (None, "sft")
    # preferences go instead of the earlier examples (they are not the same kind of data); examples are added
    data = args.data or (("swap" if preference else "add") if args.dataset else "same")
    overrides = read_config_argument(args.config) if args.config else {}
    if args.max_steps is not None:
        overrides["max_steps"] = args.max_steps
    if getattr(args, "method", None):  # e.g. improve a version with preferences
        overrides["training_method"] = args.method
    config, facts = continue_config(version, data=data, dataset=args.dataset, epochs=args.epochs,
                                    carry_optimizer=args.carry_optimizer, overrides=overrides)
    preflight(config)
    return config, facts, version


def continued_session(args, progress) -> TrainingSession:
    config, facts, version = continued_config(args)
    out = Path(args.out).expanduser() if args.out else None
    check_free_space(out or paths.runs_dir())
    session = TrainingSession.create(config, out, listeners=[progress])
    session.annotate(**facts)
    carried = "kept" if config.carry_optimizer else "fresh"
    print(f"Continuing {version['model_name']} v{version['version']} ({facts['continued_from']['data']} data, "
          f"optimizer state {carried})", file=sys.stderr)
    return session


def new_run_config(args) -> TrainingConfig:
    """A new run's settings from the command line: --config, then the planner's for --profile, explicit wins."""
    overrides = read_config_argument(args.config) if args.config else {}
    if args.model:
        overrides["model_name"] = args.model
    if args.dataset:
        overrides["dataset_path"] = str(Path(args.dataset).expanduser().resolve())
    if args.max_steps is not None:
        overrides["max_steps"] = args.max_steps
    if getattr(args, "method", None):
        overrides["training_method"] = args.method
    if getattr(args, "trust_remote_code", False):
        overrides["trust_remote_code"] = True
    overrides.update(reward_overrides(args))
    if getattr(args, "answer_schema", None):
        overrides["answer_schema"] = read_answer_schema(args.answer_schema)
    if getattr(args, "processes", None) is not None:
        overrides["num_processes"] = args.processes
    if getattr(args, "strategy", None) is not None:
        overrides["distributed_strategy"] = args.strategy
    config = TrainingConfig().merged(overrides)
    if getattr(args, "trust_remote_code", False):  # the user's explicit consent, for this model only
        grant(config.model_path or config.model_name)
    preflight(config)
    if args.profile:
        config = planned_config(config, args.profile).merged(overrides)
    return config


def reward_overrides(args) -> dict:
    """--reward and --reward-file as config settings; --trust-reward-file is the user's consent for that file."""
    overrides = {}
    if getattr(args, "reward", None):
        overrides["rewards"] = list(args.reward)
    if getattr(args, "reward_file", None):
        overrides["reward_file"] = str(Path(args.reward_file).expanduser().resolve())
        if getattr(args, "trust_reward_file", False) and Path(overrides["reward_file"]).is_file():
            grant_code(overrides["reward_file"])
    return overrides


SCHEMA_BYTES = 1 << 20  # a JSON schema is a few KB; a bigger file is not one


def read_answer_schema(value: str) -> str:
    """--answer-schema: inline JSON, or a schema file read with a bound (the config's check judges the schema)."""
    if value.lstrip().startswith("{"):
        return value
    return read_small_file(Path(value).expanduser(), "--answer-schema", SCHEMA_BYTES)


def check_free_space(folder: Path) -> None:
    if shutil.disk_usage(paths.nearest_existing(folder)).free < MIN_FREE_BYTES:
        raise disk_full("the run folder")


class ProgressBar:
    """A tqdm bar on stderr fed by metrics events: step, loss, loss-carrying tokens/s and ETA."""

    def __init__(self):
        from tqdm import tqdm

        self._tqdm = tqdm
        self.bar = None

    def __call__(self, event: dict) -> None:
        kind = event["type"]
        if kind == "notification" and event.get("message"):
            self._write(event["message"])
        elif kind == "status":
            self._write(f"[{event['status']}]" + (f" {event['reason']}" if event.get("reason") else ""))
        elif kind == "checkpoint":
            self._write(f"checkpoint saved at step {event['step']}")
        elif kind == "eval":
            self._write(f"step {event['step']}: validation loss {event['eval_loss']:.4f}, "
                        f"perplexity {event['perplexity']:.2f}")
        elif kind == "metrics" and event.get("max_steps"):
            if self.bar is None:
                self.bar = self._tqdm(total=event["max_steps"], unit="step", file=sys.stderr,
                                      dynamic_ncols=True, initial=event["step"], desc="training")
            self.bar.n = event["step"]
            if event.get("loss") is not None and not event.get("heartbeat"):
                self.bar.set_postfix(loss=f"{event['loss']:.4f}", tok_s=f"{event['tokens_per_second']:.0f}",
                                     refresh=False)
            self.bar.refresh()

    def _write(self, text: str) -> None:
        if self.bar is not None:
            self.bar.write(text, file=sys.stderr)
        else:
            print(text, file=sys.stderr)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def train_command(args) -> int:
    quiet_libraries()

    progress = ProgressBar()
    try:
        if args.resume:
            session = TrainingSession.open(Path(args.resume), listeners=[progress])
            if getattr(args, "trust_remote_code", False) and session.config.trust_remote_code:
                grant(session.config.model_path or session.config.model_name)
            if session.status == Status.COMPLETED:
                raise PlainError(
                    title="This run is already complete",
                    what=f"{args.resume} finished training; there is nothing to resume.",
                    why="Only paused, stopped or interrupted runs can be resumed.",
                    actions=["Start a new run with the same settings.",
                             "Open the run's adapter in the playground or export it."],
                    help_topic="runs",
                )
        elif getattr(args, "continue_from", None):
            session = continued_session(args, progress)
        else:
            config = new_run_config(args)
            out = Path(args.out).expanduser() if args.out else None

            check_free_space(out or paths.runs_dir())
            session = TrainingSession.create(config, out, listeners=[progress])
        print(f"Run folder: {session.run_dir}", file=sys.stderr)
    except PlainError as error:
        print_error(error, args.json)
        return 1

    # several devices, or an explicit --processes (also 1: the same launch path, e.g. to reproduce a cluster run)
    runner = Runner(session, progress, force_launch=bool(getattr(args, "processes", None)))
    config = session.config
    if runner.launches:
        print(f"Launching {config.num_processes} processes ({config.distributed_strategy}); their output goes to "
              f"{RunFolder(session.run_dir).launch_log}", file=sys.stderr)
        cluster = LaunchPlan(config.num_processes, config.distributed_strategy, num_machines=2)
        print(f"On a cluster, run on every machine: {cluster_command(session.run_dir, cluster)}", file=sys.stderr)

    def on_interrupt(signum, frame):  # the first Ctrl+C pauses cleanly (checkpoint first); the second stops hard
        print("\nPausing at the end of this step (press Ctrl+C again to abort)...", file=sys.stderr)
        runner.pause()
        signal.signal(signal.SIGINT, (lambda *_: runner.kill()) if runner.launches else signal.default_int_handler)

    previous = signal.signal(signal.SIGINT, on_interrupt)
    terminated = False
    try:
        status = runner.run()
    except KeyboardInterrupt as interrupt:  # a second Ctrl+C, or a termination signal (errors.Terminated)
        terminated = isinstance(interrupt, Terminated)
        runner.kill()  # launched processes do not outlive us
        status = session.status
    finally:
        signal.signal(signal.SIGINT, previous)
        progress.close()

    if not is_main():  # rank 0 reports for every process of a launched run
        return 1 if status == Status.FAILED else 0
    summary = runner.summary
    result = {"ok": status != Status.FAILED, "status": status.value, "run_dir": str(session.run_dir),
              "summary": summary}
    if runner.launches:
        result["processes"] = config.num_processes
    if status == Status.FAILED:
        print_error(runner.error, args.json)
        return 1
    if terminated:
        print(f"Ended by a termination signal; the run is stopped at its last checkpoint. Resume with: "
              f"peftstudio train --resume {session.run_dir}", file=sys.stderr)
        if args.json:
            print(json.dumps(result, default=str))
        return 143
    if status == Status.PAUSED:
        print(f"Paused. Resume with: peftstudio train --resume {session.run_dir}", file=sys.stderr)
    elif status == Status.COMPLETED and summary.get("steps") is not None:
        print(f"Done: {summary['steps']} steps, loss {summary['first_loss']:.4f} -> {summary['final_loss']:.4f}. "
              f"Adapter: {summary['adapter']}", file=sys.stderr)
    if args.json:
        print(json.dumps(result, default=str))
    return 0
