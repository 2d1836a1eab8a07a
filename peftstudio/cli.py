"""`peftstudio`: the GUI with no arguments, sub-commands for everything else.

Heavy libraries are imported inside the commands, so `peftstudio --help` answers at once.
With `--json`, stdout carries exactly one JSON document; progress and messages go to stderr.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
from pathlib import Path

from peftstudio import __version__


def build_parser() -> argparse.ArgumentParser:
    # light: declarations only (the settings, the export formats)
    # lazy: off the start-up path (bench/startup.py)
    from peftstudio.engine.app_settings import app_settings_declared, load_settings
    # lazy: off the start-up path (bench/startup.py)
    from peftstudio.engine.export import DEFAULT_QUANT, FORMATS, GGUF_TYPES
    # lazy: off the start-up path (bench/startup.py)
    from peftstudio.engine.sampling import Sampling, cli_flag, sampling_settings

    parser = argparse.ArgumentParser(prog="peftstudio", description="Fine-tune LLMs with LoRA/QLoRA.")
    parser.add_argument("--version", action="version", version=f"peftstudio {__version__}")
    parser.add_argument("--self-test", action="store_true",
                        help="check this installation (window, wizard, sample dataset, demo model) and exit")
    sub = parser.add_subparsers(dest="command")

    sub.add_parser("gui", help="open the main window (the default)")

    hardware = sub.add_parser("hardware", help="what this machine can train with")
    hardware.add_argument("--json", action="store_true")
    hardware.add_argument("--refresh", action="store_true", help="ignore the 5-minute cache")

    plan = sub.add_parser("plan", help="the settings that fit this machine, with estimates and alternatives")
    plan.add_argument("--model", required=True)
    plan.add_argument("--dataset", required=True)
    plan.add_argument("--profile", default="chatbot", help="use case: chatbot, code-generation, summarization, "
                      "question-answering, creative-writing, domain-adaptation, or your own")
    plan.add_argument("--json", action="store_true")
    plan.add_argument("--benchmark", action="store_true", help="measure a few real steps for a precise estimate")
    # the user's own settings (the app's settings dialog) are the defaults
    saved = {spec.name: (spec, getattr(load_settings(), spec.name)) for spec in app_settings_declared()}
    for flag, name in (("--price", "electricity_price"), ("--carbon", "carbon_intensity")):
        spec, value = saved[name]
        plan.add_argument(flag, type=float, default=value, help=f"{spec.help} (yours: {value:g})")

    chat = sub.add_parser("chat", help="talk to a fine-tuned run (and compare with the base model), or to an "
                          "exported .gguf file through llama.cpp")
    chat.add_argument("run", help="run folder or id, or an exported .gguf file")
    chat.add_argument("--prompt", help="one prompt (without it or --prompts: standard input's lines, one conversation)")
    chat.add_argument("--prompts", metavar="FILE",
                      help="one independent prompt per line, the model loaded once (with --json: a JSON line each)")
    chat.add_argument("--compare-base", action="store_true", help="also answer with the base model, with scores")
    chat.add_argument("--tools", metavar="TOOLS.json",
                      help="offer these tools (a JSON list of functions); the answer's calls come back parsed")
    chat.add_argument("--json", action="store_true")
    for spec in sampling_settings():  # --temperature, --top-p, ..., --system-prompt: the playground's settings
        default = getattr(Sampling(), spec.name)
        chat.add_argument(cli_flag(spec.name), *(["--system"] if spec.name == "system_prompt" else []),
                          dest=spec.name, type={"float": float, "int": int}.get(spec.kind, str), default=default,
                          help=f"{spec.help} ({spec.rule}; default {default})")

    runs = sub.add_parser("runs", help="list, show, compare or reindex training runs")
    runs.add_argument("action", choices=["list", "show", "compare", "reindex"])
    runs.add_argument("runs", nargs="*", help="run ids or folders (show: 1, compare: 2-5)")
    runs.add_argument("--model")
    runs.add_argument("--status")
    runs.add_argument("--search")
    runs.add_argument("--json", action="store_true")

    versions = sub.add_parser("versions", help="list, roll back, archive or delete model versions")
    versions.add_argument("action", choices=["list", "rollback", "archive", "delete"])
    versions.add_argument("--model", help="the model name (versions are numbered per name)")
    versions.add_argument("--version")
    versions.add_argument("--keep", type=int, default=3, help="archive: how many of the newest to keep")
    versions.add_argument("--yes", action="store_true", help="delete: confirm")
    versions.add_argument("--json", action="store_true")

    feedback = sub.add_parser("feedback", help="the judgements given in the playground, as a preference dataset")
    feedback.add_argument("action", choices=["export"])
    feedback.add_argument("run", help="the run folder (or run id) of the judged version")
    feedback.add_argument("--out", required=True, help="the JSONL file to write")
    feedback.add_argument("--json", action="store_true")

    # lazy: off the start-up path (bench/startup.py)
    from peftstudio.engine.config import TrainingConfig  # light: the settings and their defaults

    validate = sub.add_parser("validate", help="check a dataset: format, schema, problems, statistics")
    validate.add_argument("file", help="the dataset file")
    validate.add_argument("--json", action="store_true", help="print the report as one JSON document")
    validate.add_argument("--model", help="count tokens with this model's tokenizer (and check the max length)")
    validate.add_argument("--max-seq-length", type=positive_count, default=TrainingConfig.max_seq_length,
                          help="token limit to check (with --model; the same default as training and the app)")
    validate.add_argument("--fix", metavar="OUT", help="write a repaired copy here (the original is never changed)")
    validate.add_argument("--mapping", help='column mapping as JSON, e.g. \'{"prompt": "query", "response": "reply"}\'')
    validate.add_argument("--preview", type=int, default=3, help="how many normalized examples to show")

    export = sub.add_parser("export", help="export a completed run (Hugging Face, GGUF, Ollama, LM Studio)")
    export.add_argument("run", help="run folder or id")
    export.add_argument("--format", required=True, choices=list(FORMATS),
                        help="; ".join(f"{f.name}: {f.meaning}" for f in FORMATS.values()))
    export.add_argument("--out", required=True, help="the folder to create for the export")
    export.add_argument("--quant", default=None, choices=list(GGUF_TYPES), type=str.lower,  # Q4_K_M too
                        help=f"GGUF type. Left out: {DEFAULT_QUANT}, or the smallest larger type that keeps the "
                             "model's answers when a small model loses too much at 4 bits; "
                             + "; ".join(f"{t.name}: {t.meaning}" for t in GGUF_TYPES.values()))
    export.add_argument("--verify", action=argparse.BooleanOptionalAction, default=True,
                        help="load the export back and compare it with the model in memory (default: on)")
    export.add_argument("--overwrite", action="store_true", help="replace the folder if it already holds files")
    export.add_argument("--name", help="model name used in file names and for Ollama")
    export.add_argument("--push", metavar="REPO", help="also upload a Hugging Face export to this hub repository")
    export.add_argument("--add", action="store_true",
                        help="add the export to Ollama (ollama create, then one probe prompt) or LM Studio "
                             "(lms import) when that command is on PATH")
    export.add_argument("--json", action="store_true")

    evaluate = sub.add_parser("eval", help="score a completed run: its task before and after, what it forgot, "
                                           "and optionally a judge's verdicts")
    evaluate.add_argument("run", help="run folder or id")
    evaluate.add_argument("--judge", metavar="MODEL_OR_URL",
                          help="a judge: an OpenAI-compatible server URL (Ollama, LM Studio, llama_cpp.server), a "
                               ".gguf file, or a Hugging Face folder or id; only that judge sees the prompts")
    evaluate.add_argument("--limit", type=positive_count,
                          help="score at most this many held-back examples and general-skills questions (1 or more)")
    evaluate.add_argument("--no-skills", dest="skills", action="store_false",
                          help="skip the general-skills (forgetting) check")
    evaluate.add_argument("--json", action="store_true")

    from peftstudio.engine.config import choices, settings_help  # lazy: off the start-up path (bench/startup.py)

    rewards = sub.add_parser("rewards", help="grpo: preview the rewards of the base model's answers before training "
                                             "(is there something to learn?)")
    rewards.add_argument("dataset", help="the prompts (any supported dataset shape)")
    rewards.add_argument("--model", help="Hugging Face id, model folder or .gguf file (default: the demo model)")
    rewards.add_argument("--prompts", type=int, default=8, help="how many prompts to sample (default 8)")
    rewards.add_argument("--generations", type=int, default=4, help="answers per prompt (default 4)")
    rewards.add_argument("--max-new-tokens", type=int, default=64, help="the longest answer (default 64)")
    rewards.add_argument("--json", action="store_true")
    _reward_arguments(rewards)

    train = sub.add_parser("train", help="fine-tune a model on a dataset; writes a run folder",
                           epilog=settings_help(), formatter_class=argparse.RawDescriptionHelpFormatter)
    train.add_argument("--model", help="Hugging Face id, model folder or .gguf file")
    train.add_argument("--dataset", help="dataset file (JSON, JSONL, CSV, TSV, TXT)")
    train.add_argument("--profile", help="start from the planner's settings for this use case (see 'plan')")
    train.add_argument("--config", help="training settings: a JSON file or an inline JSON object")
    train.add_argument("--max-steps", type=int, help="stop after this many optimizer steps")
    train.add_argument("--out", help="run folder to create (default: a new folder in the data dir)")
    train.add_argument("--resume", metavar="RUN_DIR", help="resume a paused, stopped or interrupted run")
    train.add_argument("--method", choices=choices("training_method"),
                       help="sft (imitate examples, the default), or learn from preferences: dpo, orpo, simpo "
                            "(pairs of a better and a worse answer) or kto (answers marked good or bad), or grpo "
                            "(prompts and a checker: see --reward)")
    _reward_arguments(train)
    train.add_argument("--continue", dest="continue_from", metavar="MODEL@VERSION",
                       help="train a finished version further, as a new child version (see --data)")
    train.add_argument("--data", choices=("same", "add", "swap"), default=None,
                       help="with --continue: more epochs on the same data (default), or --dataset added to it "
                            "(the default with --dataset), or --dataset instead of it (the default for preferences)")
    train.add_argument("--epochs", type=float, help="with --continue: how many more passes (default: as before)")
    carry = train.add_mutually_exclusive_group()
    carry.add_argument("--carry-optimizer", dest="carry_optimizer", action="store_true", default=None,
                       help="with --continue: keep the optimizer's state (recommended for the same data)")
    carry.add_argument("--fresh-optimizer", dest="carry_optimizer", action="store_false",
                       help="with --continue: a fresh optimizer state (recommended for new data)")
    train.add_argument("--processes", type=int, help="train on this many devices (GPUs) at once, launched "
                       "through accelerate; the batch size is per device")
    train.add_argument("--strategy", choices=choices("distributed_strategy"),
                       help="how several devices share the work (default ddp: each holds the whole model)")
    train.add_argument("--trust-remote-code", action="store_true",
                       help="allow this model's own Python code to run (remembered for this model only)")
    train.add_argument("--json", action="store_true", help="print the result as one JSON document")

    queue = sub.add_parser("queue", help="line up runs to train one after another (they survive closing and "
                                         "crashes)", epilog=settings_help(), formatter_class=argparse.RawDescriptionHelpFormatter)
    queue.add_argument("action", choices=["add", "list", "remove", "move", "start", "pause"])
    queue.add_argument("item", nargs="?", type=int, help="remove, move: the queued run's number (see list)")
    queue.add_argument("--to", type=int, help="move: the new place, 1 = next to run")
    queue.add_argument("--all", action="store_true", help="list: also the runs that ended")
    queue.add_argument("--title", help="add: how the queue shows this run")
    _run_arguments(queue)
    queue.add_argument("--continue", dest="continue_from", metavar="MODEL@VERSION",
                       help="add: train a finished version further (as 'train --continue')")
    queue.add_argument("--data", choices=("same", "add", "swap"), default=None, help="add, with --continue")
    queue.add_argument("--epochs", type=float, help="add, with --continue: how many more passes")
    queue.add_argument("--carry-optimizer", dest="carry_optimizer", action="store_true", default=None)
    queue.add_argument("--json", action="store_true")

    sweep = sub.add_parser("sweep", help="try several settings (Optuna: grid, random or TPE, with pruning) through "
                                         "the queue, and keep the best")
    _run_arguments(sweep)
    sweep.add_argument("--vary", help="settings to try, e.g. lr=1e-4:5e-4:log,lora_r=8,16,32 (values, or "
                                      "LOW:HIGH ranges with :log for a log scale)")
    budget = sweep.add_mutually_exclusive_group()
    budget.add_argument("--trials", type=int, help="how many trials")
    budget.add_argument("--hours", type=float, help="a time budget: as many trials as the planner says fit")
    sweep.add_argument("--sampler", choices=["grid", "random", "tpe"], default="tpe")
    sweep.add_argument("--objective", choices=["val-loss", "task-metric"], default="val-loss",
                       help="what 'best' means: validation loss (default), or the scorecard's task metric")
    sweep.add_argument("--seed", type=int, default=0)
    sweep.add_argument("--no-start", dest="start", action="store_false",
                       help="only queue the trials (start them with 'peftstudio queue start')")
    sweep.add_argument("--show", metavar="SWEEP", help="the trials of a sweep and its best")
    sweep.add_argument("--keep-best", metavar="SWEEP", help="make the sweep's best trial the model's version")
    sweep.add_argument("--list", action="store_true", help="the sweeps made here")
    sweep.add_argument("--json", action="store_true")
    synth = sub.add_parser("synth", help="make a training set from your documents (PDF, Word, Markdown, HTML, "
                                         "text) with a teacher model")
    synth.add_argument("documents", nargs="+", help="files or folders")
    synth.add_argument("--teacher", default="HuggingFaceTB/SmolLM2-135M-Instruct",
                       help="a Hugging Face folder or id, a .gguf file, or an OpenAI-compatible server URL "
                            "(Ollama, LM Studio, llama_cpp.server); only that server sees the documents")
    synth.add_argument("--profile", default="question-answering",
                       help="use case: question-answering, chatbot, code-generation (questions and answers), "
                            "summarization, creative-writing (requests answered by your text), domain-adaptation "
                            "(plain passages)")
    synth.add_argument("--count", type=int, default=100, help="how many examples")
    synth.add_argument("--out", required=True, help="the JSONL file to write (an existing one is continued)")
    synth.add_argument("--judge", metavar="MODEL_OR_URL", help="also ask this model whether each answer is "
                                                             "supported by its passage")
    synth.add_argument("--batch-size", type=int, default=8, help="prompts a local teacher answers at once")
    synth.add_argument("--max-tokens", type=int, help="cap each reply at this many tokens")
    synth.add_argument("--passage-tokens", type=int, default=384,
                       help="the longest passage, in tokens (the passage, the teacher's prompt and its reply must fit "
                            "the teacher's context; a summary's passage must fit the model you train)")
    synth.add_argument("--json", action="store_true")
    return parser


def _run_arguments(command) -> None:
    """What a new run needs, for the commands that make runs later (queue add, sweep)."""
    from peftstudio.engine.config import choices  # lazy: off the start-up path (bench/startup.py)

    command.add_argument("--model", help="Hugging Face id, model folder or .gguf file")
    command.add_argument("--dataset", help="dataset file")
    command.add_argument("--profile", help="start from the planner's settings for this use case")
    command.add_argument("--config", help="training settings: a JSON file or an inline JSON object")
    command.add_argument("--max-steps", type=int, help="stop each run after this many optimizer steps")
    command.add_argument("--method", choices=choices("training_method"), help="sft, dpo, orpo, simpo, kto or grpo")
    _reward_arguments(command)


def _reward_arguments(command) -> None:
    """GRPO's rewards: the checkers' names and arguments come from their table (engine/rewards/builtin.py)."""
    from peftstudio.engine.rewards import CHECKERS  # lazy: off the start-up path (bench/startup.py)

    listing = "; ".join(f"{c.name}" + (f" [{','.join(f'{k}=' for k in c.arguments)}]" if c.arguments else "")
                        + f": {c.help}" for c in CHECKERS.values())
    command.add_argument("--reward", action="append", metavar="NAME[:ARG=VALUE,...][*WEIGHT]",
                         help=f"grpo: a checker that scores each answer (repeatable). {listing}")
    command.add_argument("--reward-file", metavar="FILE.py",
                         help="grpo: your own reward, a file defining reward(prompt, completion, **row) -> float")
    command.add_argument("--trust-reward-file", action="store_true",
                         help="allow --reward-file's code to run (remembered for this file as it is now)")
    command.add_argument("--answer-schema", metavar="FILE.json",
                         help="JSON answers: a JSON schema (a file, or inline JSON) every answer should follow; the "
                              "scorecard checks it and a GGUF export carries it as a llama.cpp grammar")


# sub-command -> (module, function); modules are imported only when their command runs
COMMANDS = {
    "hardware": ("peftstudio.cli_plan", "hardware_command"), "plan": ("peftstudio.cli_plan", "plan_command"),
    "validate": ("peftstudio.cli_validate", "validate_command"), "train": ("peftstudio.cli_train", "train_command"),
    "rewards": ("peftstudio.cli_rewards", "rewards_command"),
    "chat": ("peftstudio.cli_chat", "chat_command"), "runs": ("peftstudio.cli_runs", "runs_command"),
    "versions": ("peftstudio.cli_runs", "versions_command"),
    "feedback": ("peftstudio.cli_runs", "feedback_command"),
    "export": ("peftstudio.cli_export", "export_command"),
    "eval": ("peftstudio.cli_eval", "eval_command"),
    "queue": ("peftstudio.cli_queue", "queue_command"),
    "sweep": ("peftstudio.cli_queue", "sweep_command"),
    "synth": ("peftstudio.cli_synth", "synth_command"),
}


def main(argv: list[str] | None = None) -> int:
    import importlib

    args = build_parser().parse_args(argv)
    if args.self_test:
        from peftstudio.selftest import run_self_test  # lazy: off the start-up path (bench/startup.py)

        return run_self_test()
    if args.command in (None, "gui"):
        from peftstudio.ui.app import run_gui  # lazy: off the start-up path (bench/startup.py)

        return run_gui()
    module, function = COMMANDS[args.command]
    try:
        with termination_raises():
            return getattr(importlib.import_module(module), function)(args)
    except SystemExit:
        raise
    except BrokenPipeError:  # the reader went away (`| head`): nothing more can be said on stdout
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except BaseException as exc:  # noqa: BLE001 - the one place where any failure becomes a plain message
        return report_failure(exc, getattr(args, "json", False))
    finally:
        print_store_notices()


def percent_bar(desc: str, width: int = 40):
    """A 0-100% progress bar on stderr and the `progress(fraction, message)` callback that drives it."""
    from tqdm import tqdm

    bar = tqdm(total=100, unit="%", file=sys.stderr, desc=desc, bar_format="{l_bar}{bar}| {n:.0f}% {postfix}")

    def progress(fraction: float, message: str) -> None:
        bar.n = round(100 * fraction)
        bar.set_postfix_str(message[:width])
        bar.refresh()

    return bar, progress


def print_store_notices() -> None:
    """Say so when the history database had to be rebuilt (only if this command opened it)."""
    store = sys.modules.get("peftstudio.engine.history.store")
    if store is not None:
        for notice in store.take_notices():
            print(f"Note: {notice}", file=sys.stderr)


def report_failure(exc: BaseException, as_json: bool) -> int:
    """Print the plain error for an exception no command handled; the stack trace goes to a file only.

    Exit 1 (the command failed), 130 for Ctrl+C as shells expect."""
    from peftstudio.engine.errors import from_exception  # lazy: off the start-up path (bench/startup.py)

    folder = None
    try:
        from peftstudio.engine.paths import log_dir  # lazy: off the start-up path (bench/startup.py)

        folder = log_dir() / "diagnostics"
    except OSError:
        pass  # no writable log folder: the message still reaches the user
    import logging

    logging.getLogger("peftstudio").debug("unhandled", exc_info=exc)
    print_error(from_exception(exc, folder), as_json)
    return exit_code_of(exc)


def exit_code_of(exc: BaseException) -> int:
    """1 for a failed command; 130 for Ctrl+C and 143 for a termination signal, as shells expect."""
    from peftstudio.engine.errors import Terminated  # lazy: off the start-up path (bench/startup.py)

    return 143 if isinstance(exc, Terminated) else 130 if isinstance(exc, KeyboardInterrupt) else 1


@contextlib.contextmanager
def termination_raises():
    """While a command runs, SIGTERM raises Terminated (a KeyboardInterrupt) in the main thread, so its work
    unwinds and records itself as stopped; without it the process would vanish mid-write."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGTERM"):
        yield
        return

    def on_terminate(signum, frame):
        from peftstudio.engine.errors import Terminated  # lazy: off the start-up path (bench/startup.py)

        raise Terminated()

    previous = signal.signal(signal.SIGTERM, on_terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def quiet_libraries() -> None:
    """Keep library chatter (warnings, info logs) off the terminal; our own messages say what matters."""
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")  # TRL tokenizes preference data with datasets
    for name in ("transformers", "peft", "accelerate", "bitsandbytes", "torch", "datasets", "huggingface_hub",
                 "trl"):
        logging.getLogger(name).setLevel(logging.ERROR)
    logging.getLogger().setLevel(logging.ERROR)


def print_error(error, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"ok": False, "error": error.to_dict()}))
    print(error.render(), file=sys.stderr)


def positive_count(value: str) -> int:
    """An argparse type: a whole number of at least 1 (argparse turns the ValueError into a plain usage line)."""
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return number


def read_config_argument(value: str) -> dict:
    """--config: a JSON file or an inline JSON object; only the settings it names (they override others)."""
    from peftstudio.engine.config import parse_settings  # lazy: off the start-up path (bench/startup.py)
    from peftstudio.engine.errors import PlainError  # lazy: off the start-up path (bench/startup.py)

    text = value
    if not value.lstrip().startswith(("{", "[")):  # inline JSON (a list is refused below, plainly)
        path = Path(value)
        if not path.exists():
            raise PlainError(
                title="The configuration file was not found",
                what=f"No file exists at {value}.",
                why="--config takes a JSON file or an inline JSON object such as '{\"lora_r\": 8}'.",
                actions=["Check the path.", "Pass the settings inline as a JSON object."],
                help_topic="settings",
            )
        text = read_small_file(path, "--config", CONFIG_BYTES)
    return parse_settings(text)


CONFIG_BYTES = 1 << 20  # a settings file is a few KB


def read_small_file(path: Path, flag: str, limit: int) -> str:
    """A settings-sized file, read with a bound: never a device (/dev/zero), a FIFO (which blocks) or a huge file."""
    from peftstudio.engine.errors import PlainError  # lazy: off the start-up path (bench/startup.py)

    def refused(what: str) -> PlainError:
        return PlainError(title=f"The file given to {flag} cannot be used", what=what,
                          why=f"{flag} takes a small JSON file (a few kilobytes) or inline JSON.",
                          actions=["Check the path.", "Pass the settings inline as a JSON object."],
                          help_topic="settings")

    if path.is_dir():
        raise refused(f"{path} is a folder, not a file.")
    if not path.is_file():  # is_file() is False for devices, FIFOs and sockets: nothing is opened
        raise refused(f"{path} is not a regular file.")
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as error:
        raise refused(f"{path} cannot be read ({error.strerror or error}).") from None
    if len(data) > limit:
        raise refused(f"{path} is over {limit // (1 << 20)} MB.")
    return data.decode("utf-8", "replace")
