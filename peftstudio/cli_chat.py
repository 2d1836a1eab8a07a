"""`peftstudio chat RUN|FILE.gguf [--prompt TEXT] [--compare-base] [--tools TOOLS.json] [--json]`: talk to a
fine-tuned run, or to an exported GGUF file through llama.cpp (what Ollama and LM Studio will answer)."""
from __future__ import annotations

import json
import sys
from dataclasses import replace

from peftstudio.cli import print_error, quiet_libraries
from peftstudio.cli_runs import resolve_run_dir
from peftstudio.engine.data import calls_in_text, read_tools
from peftstudio.engine.errors import PlainError
from peftstudio.engine.inference import ChatModel
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


def chat_command(args) -> int:
    quiet_libraries()
    if str(args.run).lower().endswith(".gguf"):
        return gguf_chat_command(args)

    sampling = sampling_of(args)
    try:
        tools = tools_of(args.tools) if args.tools else None
        chat = ChatModel(resolve_run_dir(args.run))
        if args.prompt is None:  # interactive: one prompt per line until end of input
            history: list[dict] = []
            for line in sys.stdin:
                if not line.strip():
                    continue
                history.append({"role": "user", "content": line.strip()})
                reply = chat.generate(history, sampling, on_token=lambda t: print(t, end="", flush=True))
                print()
                history.append({"role": "assistant", "content": reply})
            return 0
        if args.compare_base:
            result = chat.compare(args.prompt, sampling, tools=tools)
        else:
            streamed = None if args.json else (lambda t: print(t, end="", flush=True))
            result = {"prompt": args.prompt, "tuned": chat.generate([{"role": "user", "content": args.prompt}],
                                                                  sampling, on_token=streamed, tools=tools)}
            if streamed:
                print()
        if tools:  # the calls each model made, parsed, beside its raw text
            for side in ("tuned", "base"):
                if side in result:
                    result[f"{side}_tool_calls"] = calls_in_text(result[side])[0]
    except PlainError as error:
        print_error(error, args.json)
        return 1
    if args.json:
        print(json.dumps(result))
    elif args.compare_base:
        print(f"Fine-tuned: {result['tuned']}\n\nBase model: {result['base']}")
        for name in ("tuned", "base"):
            s = result["scores"][name]
            print(f"  {name:5}: perplexity {s['perplexity']:.2f}, repetition {s['repetition']:.2f}, "
                  f"prompt overlap {s['prompt_overlap']:.2f}, {s['length']} words")
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
        prompts = [args.prompt] if args.prompt is not None else (line.strip() for line in sys.stdin)
        history: list[dict] = []
        last: dict = {}
        for prompt in prompts:
            if not prompt:
                continue
            history.append({"role": "user", "content": prompt})
            streamed = (lambda piece: None) if args.json else (lambda piece: print(piece, end="", flush=True))
            last = timed_chat(model, system + history, streamed, **sampling)
            history.append({"role": "assistant", "content": last["text"]})
            if not args.json:
                print(f"\n[{last['tokens']} tokens, {last['tokens_per_second']:.1f} tokens/s, llama.cpp]",
                      file=sys.stderr)
        model.close()
    except Exception as exc:  # noqa: BLE001 - every failure is shown as a plain error
        print_error(from_exception(exc, data_dir() / "diagnostics"), args.json)
        return 1
    if args.json:
        print(json.dumps({"file": str(path), "prompt": args.prompt, "answer": last.get("text", ""),
                          "tokens": last.get("tokens", 0), "tokens_per_second": last.get("tokens_per_second", 0.0),
                          "engine": "llama.cpp"}))
    return 0
