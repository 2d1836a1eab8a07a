"""`peftstudio export RUN --format F --out DIR`: an export package, verified by loading it back."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from peftstudio.cli import percent_bar, print_error, quiet_libraries
from peftstudio.cli_runs import resolve_run_dir
from peftstudio.engine.errors import PlainError, from_exception
from peftstudio.engine.export import export_run, hand_over, push_to_hub
from peftstudio.engine.paths import data_dir


def export_command(args) -> int:
    quiet_libraries()
    bar, progress = percent_bar("Export")

    try:
        if args.add and args.format not in ("ollama", "lmstudio"):
            raise PlainError(
                title="Only Ollama and LM Studio exports can be added to an app",
                what=f"--add was given with --format {args.format}.",
                why="--add runs `ollama create` or `lms import` on the export.",
                actions=["Export with --format ollama or lmstudio to add it.",
                         "Load other formats with the tool that reads them."],
                help_topic="export")
        if args.push and args.format not in ("hf", "hf-merged"):  # before the export's minutes, not after
            raise PlainError(
                title="Only Hugging Face exports can be uploaded",
                what=f"--push was given with --format {args.format}.",
                why="The hub upload sends a Hugging Face folder (hf or hf-merged).",
                actions=["Export with --format hf or hf-merged to upload.",
                         "Upload GGUF files yourself with: hf upload REPO FILE"],
                help_topic="export")
        run_dir = resolve_run_dir(args.run)
        result = export_run(run_dir, args.format, args.out, quant=args.quant, verify=args.verify,
                            overwrite=args.overwrite, progress=progress, name=args.name)
        pushed = handed = None
        if args.push:
            pushed = push_to_hub(result.folder, args.push)
        if args.add and result.ok:
            progress(1.0, "Adding the model to the app")
            handed = hand_over(result.folder, args.format, result.details.get("model_name", ""),
                               result.details.get("publisher", "peftstudio")).to_dict()
    except Exception as exc:  # noqa: BLE001 - every failure is shown as a plain error
        bar.close()
        print_error(from_exception(exc, data_dir() / "diagnostics", writing=Path(args.out).expanduser()), args.json)
        return 1
    bar.close()
    data = result.to_dict() | {"pushed": pushed, "added": handed}
    if args.json:
        print(json.dumps(data))
    else:
        print(f"Exported {args.format} to {result.folder} in {result.seconds:.1f} s", file=sys.stderr)
        if result.report is not None:
            print(result.report.markdown(), file=sys.stderr)
        if handed:
            print(f"Added to {handed['app']} as {handed['model']}.", file=sys.stderr)
            if handed.get("probe_answer") is not None:
                print(f"{handed['probe_prompt']} -> {handed['probe_answer']}", file=sys.stderr)
    return 0 if result.ok else 1
