"""`peftstudio chat RUN [--prompt TEXT] [--compare-base] [--json]`: talk to a fine-tuned run."""
from __future__ import annotations

import json
import sys

from peftstudio.cli import print_error, quiet_libraries
from peftstudio.cli_runs import resolve_run_dir
from peftstudio.engine.errors import PlainError
from peftstudio.engine.inference import ChatModel, Sampling


def chat_command(args) -> int:
    quiet_libraries()

    sampling = Sampling(temperature=args.temperature, max_new_tokens=args.max_new_tokens,
                        system_prompt=args.system)
    try:
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
            result = chat.compare(args.prompt, sampling)
        else:
            streamed = None if args.json else (lambda t: print(t, end="", flush=True))
            result = {"prompt": args.prompt, "tuned": chat.generate([{"role": "user", "content": args.prompt}],
                                                                  sampling, on_token=streamed)}
            if streamed:
                print()
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
