"""`peftstudio chat RUN|FILE.gguf [--prompt TEXT | --prompts FILE] [--compare-base] [--tools TOOLS.json] [--json]`:
talk to a fine-tuned run, or to an exported GGUF file through llama.cpp (what Ollama and LM Studio will answer).

The prompts: `--prompt` one; `--prompts FILE` one independent prompt per line, the model loaded once; without
either, standard input's lines are one conversation. `--json` prints one object for `--prompt`, and one JSON
line per prompt otherwise; `--compare-base` works in all three (the base model keeps its own conversation)."""
from __future__ import annotations

import json
import sys
from dataclasses import replace

from pathlib import Path

from peftstudio.cli import print_error, quiet_libraries, read_small_file
from peftstudio.cli_runs import resolve_run_dir
from peftstudio.engine.data import calls_in_text, read_tools
from peftstudio.engine.errors import PlainError
from peftstudio.engine.inference import ChatModel, word_diff
from peftstudio.engine.sampling import Sampling, cli_flag, sampling_settings


def sampling_of(args) -> Sampling:
    """The sampling the command line asked for (its flags are the declarations in engine/sampling.py)."""
    for spec in sampling_settings():
        value = getattr(args, spec.name)
        if not spec.accepts(value):
            raise PlainError(title=f"{spec.label} is out of range", what=f"{cli_flag(spec.name)} was {value}.",
                             why=f"{spec.label} must be {spec.rule}.",
                             actions=[f"Use a value {spec.rule}.", f"Leave {cli_flag(spec.name)} out for its default."],
                             help_topic="playground")
    return replace(Sampling(), **{spec.name: getattr(args, spec.name) for spec in sampling_settings()})


def tools_of(path: str) -> list[dict]:
    """The tools a --tools file declares: a JSON list of functions (or OpenAI tool entries), or one function."""
    from pathlib import Path

    file = Path(path).expanduser()
    try:
        declared = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise PlainError(title="The tools file cannot be read", what=f"{file}: {exc}.",
                         why="--tools takes a JSON file: a list of functions, each with a name, a description and "
                             "its parameters as a JSON schema.",
                         actions=["Check the path and that the file is valid JSON.",
                                  'Write it like [{"name": "get_weather", "parameters": {"type": "object", '
                                  '"properties": {"city": {"type": "string"}}}}].'],
                         help_topic="tools") from None
    tools = read_tools(declared)
    if not tools:
        raise PlainError(title="The tools file declares no tools", what=f"{file} holds no function with a name.",
                         why="Each tool needs at least a name (and, to be called well, a description and parameters).",
                         actions=["Add a list of functions to the file.", "See the tools help page for the layout."],
                         help_topic="tools")
    return tools


PROMPTS_BYTES = 50 << 20  # a file of prompts, one per line


def one_turn(chat: ChatModel, histories: dict, prompt: str, args, sampling: Sampling, tools) -> dict:
    """The fine-tuned model's answer to the next prompt of its conversation (and the base model's to its own)."""
    user = {"role": "user", "content": prompt}
    histories["tuned"].append(user)
    streamed = None if (args.json or args.compare_base) else (lambda t: print(t, end="", flush=True))
    tuned = chat.generate(histories["tuned"], sampling, on_token=streamed, tools=tools)
    if streamed:
        print()
    result = {"prompt": prompt, "tuned": tuned}
    if args.compare_base:
        histories["base"].append(user)
        base = chat.generate(histories["base"], sampling, use_adapter=False, tools=tools)
        result.update(base=base, diff=word_diff(base, tuned),
                      scores={"tuned": chat.scores(histories["tuned"], prompt, tuned, True),
                              "base": chat.scores(histories["base"], prompt, base, False)})
        histories["base"].append({"role": "assistant", "content": base})
    histories["tuned"].append({"role": "assistant", "content": tuned})
    if tools:  # the calls each model made, parsed, beside its raw text
        for side in ("tuned", "base"):
            if side in result:
                result[f"{side}_tool_calls"] = calls_in_text(result[side])[0]
    return result


def show(result: dict, args, as_line: bool) -> None:
    if args.json:
        print(json.dumps(result), flush=as_line)
    elif args.compare_base:
        print(f"Fine-tuned: {result['tuned']}\n\nBase model: {result['base']}")
        for name in ("tuned", "base"):
            s = result["scores"][name]
            print(f"  {name:5}: perplexity {s['perplexity']:.2f}, repetition {s['repetition']:.2f}, "
                  f"prompt overlap {s['prompt_overlap']:.2f}, {s['length']} words")


def prompt_lines(args):
    """(the prompts, whether each starts its own conversation)."""
    if args.prompt is not None:
        return [args.prompt], True
    if getattr(args, "prompts", None):
        text = read_small_file(Path(args.prompts).expanduser(), "--prompts", PROMPTS_BYTES)
        return [line.strip() for line in text.splitlines() if line.strip()], True
    return (line.strip() for line in sys.stdin if line.strip()), False


def chat_command(args) -> int:
    quiet_libraries()
    if str(args.run).lower().endswith(".gguf"):
        return gguf_chat_command(args)

    sampling = sampling_of(args)
    try:
        tools = tools_of(args.tools) if args.tools else None
        prompts, independent = prompt_lines(args)
        chat = ChatModel(resolve_run_dir(args.run))
        histories: dict = {"tuned": [], "base": []}
        for prompt in prompts:
            if independent:
                histories = {"tuned": [], "base": []}
            show(one_turn(chat, histories, prompt, args, sampling, tools), args, as_line=args.prompt is None)
    except PlainError as error:
        print_error(error, args.json)
        return 1
    return 0


def gguf_chat_command(args) -> int:
    """Chat with a GGUF file in llama.cpp: streamed, with tokens/s."""
    from pathlib import Path

    from peftstudio.engine.errors import from_exception  # lazy: off the start-up path (bench/startup.py)
    from peftstudio.engine.export import GGUFModel, timed_chat  # lazy: off the start-up path (bench/startup.py)
    from peftstudio.engine.paths import data_dir  # lazy: off the start-up path (bench/startup.py)

    path = Path(args.run).expanduser()
    sampling = sampling_of(args).llama_cpp()
    try:
        if not path.is_file():
            raise PlainError(title="GGUF file not found", what=f"There is no file at {path}.",
                             why="The path may be misspelled, or the export was moved.",
                             actions=["Check the path.", "List your exports' folders with: peftstudio runs"],
                             help_topic="export")
        model = GGUFModel.open(path)
        system = [{"role": "system", "content": args.system_prompt}] if args.system_prompt else []
        prompts, independent = prompt_lines(args)
        history: list[dict] = []
        for prompt in prompts:
            if independent:
                history = []
            history.append({"role": "user", "content": prompt})
            streamed = (lambda piece: None) if args.json else (lambda piece: print(piece, end="", flush=True))
            last = timed_chat(model, system + history, streamed, **sampling)
            history.append({"role": "assistant", "content": last["text"]})
            if args.json:  # one object for --prompt, one JSON line per prompt otherwise
                print(json.dumps({"file": str(path), "prompt": prompt, "answer": last["text"],
                                  "tokens": last["tokens"], "tokens_per_second": last["tokens_per_second"],
                                  "engine": "llama.cpp"}), flush=True)
            else:
                print(f"\n[{last['tokens']} tokens, {last['tokens_per_second']:.1f} tokens/s, llama.cpp]",
                      file=sys.stderr)
        model.close()
    except Exception as exc:  # noqa: BLE001 - every failure is shown as a plain error
        print_error(from_exception(exc, data_dir() / "diagnostics"), args.json)
        return 1
    return 0
