"""`peftstudio runs list|show|compare|reindex` and `peftstudio versions list|rollback|archive|delete`."""
from __future__ import annotations

import json
from pathlib import Path

from peftstudio.cli import print_error
from peftstudio.engine import paths
from peftstudio.engine.errors import PlainError
from peftstudio.engine.history import archive, compare_runs, delete_version, list_versions, rollback
from peftstudio.engine.history import default_store as store
from peftstudio.engine.history import take_notices
from peftstudio.engine.runs import RunFolder, live_status


def resolve_run_dir(ref: str) -> Path:
    path = Path(ref).expanduser()
    if ref and RunFolder(path).is_run():
        return path.resolve()
    if ref and Path(ref).name == ref and ref not in (".", ".."):
        if RunFolder(paths.runs_dir() / ref).is_run():
            return (paths.runs_dir() / ref).resolve()
        indexed = store().run(ref)  # a run made with --out lives elsewhere: the index knows its folder
        if indexed and RunFolder(indexed["folder"]).is_run():
            return Path(indexed["folder"]).resolve()
    raise PlainError(
        title="Run not found",
        what=f"'{ref}' is neither a run folder nor the id of a run.",
        why="Runs are the folders created by 'peftstudio train' or the app.",
        actions=["List the runs with 'peftstudio runs list'.", "Pass the run folder's path."],
        help_topic="runs",
    )


def wrong_run_count(action: str, wanted: str, given: int) -> PlainError:
    return PlainError(
        title="Wrong number of runs",
        what=f"'runs {action}' needs {wanted}, and {given} {'was' if given == 1 else 'were'} given.",
        why="Runs are named by their folder or their id, as 'peftstudio runs list' shows them.",
        actions=[f"Example: peftstudio runs {action} RUN",
                 "List the runs with 'peftstudio runs list'."],
        help_topic="runs",
    )


def runs_command(args) -> int:
    try:
        if args.action == "show" and len(args.runs) != 1:
            raise wrong_run_count("show", "exactly one run", len(args.runs))
        if args.action == "reindex":
            count = store().reindex()
            notices = take_notices()  # folders repaired or skipped, said here rather than after the result
            result = {"reindexed": count, "notices": notices}
            text = "\n".join([f"Indexed {count} run folders.", *notices])
        elif args.action == "list":
            rows = store().runs(model_name=args.model, status=args.status, search=args.search or "")
            result = [{k: r[k] for k in ("id", "model_name", "status", "created", "folder")}
                      | {"status": live_status(Path(r["folder"]), r["status"])} for r in rows]
            text = "\n".join(f"{r['id']}  {r['status']:<11} {r['model_name']}" for r in result) or "No runs yet."
        elif args.action == "show":
            folder = RunFolder.open(resolve_run_dir(args.runs[0]))
            info = folder.readable_info()  # a PlainError when run.json is damaged, never a silent {}
            shown = {"folder": str(folder.path), "status": live_status(folder.path, info.get("status"))}
            result = {"run": info | shown, "config": folder.config().to_dict()}
            text = json.dumps(result, indent=2)
        else:
            result = compare_runs([resolve_run_dir(r) for r in args.runs])
            lines = [f"best {name}: {run}" for name, run in result["best"].items()]
            lines += [f"{name}: " + ", ".join(f"{k}={v}" for k, v in values.items())
                      for name, values in result["config_diff"].items()]
            text = "\n".join(lines)
    except PlainError as error:
        print_error(error, args.json)
        return 1
    print(json.dumps(result, default=str) if args.json else text)
    return 0


def versions_command(args) -> int:
    try:
        needed = {"rollback": ("model", "version"), "delete": ("model", "version"), "archive": ("model",)}
        missing = [f"--{name}" for name in needed.get(args.action, ()) if not getattr(args, name)]
        if missing:
            raise PlainError(
                title="Which version?",
                what=f"'versions {args.action}' needs {' and '.join(missing)}.",
                why="Versions are numbered per model name, e.g. --model support-bot --version 1.0.2.",
                actions=["List the versions with 'peftstudio versions list'.",
                         f"Add {' and '.join(missing)} to the command."],
                help_topic="runs",
            )
        if args.action == "list":
            result = list_versions(store(), args.model)
            text = "\n".join(f"{v['model_name']} v{v['version']}{' (active)' if v['active'] else ''}"
                             f"{' [archived]' if v['archived'] else ''}  run {v['run_id']}  "
                             f"{v['size_bytes'] / 2**20:.0f} MB" for v in result) or "No versions yet."
        elif args.action == "rollback":
            result = rollback(store(), args.model, args.version)
            text = f"{args.model} v{result['version']} is now the active version."
        elif args.action == "archive":
            result = archive(store(), args.model, args.keep)
            text = f"Archived {len(result)} version(s) of {args.model}; their adapters are kept."
        else:
            result = delete_version(store(), args.model, args.version, args.yes)
            text = f"Deleted {args.model} v{result['version']}." + (
                f" {result['files_kept']}." if result.get("files_kept") else "")
    except PlainError as error:
        print_error(error, args.json)
        return 1
    print(json.dumps(result, default=str) if args.json else text)
    return 0


def feedback_command(args) -> int:
    """`peftstudio feedback export RUN --out FILE`: pairs -> a DPO dataset, thumbs only -> a KTO one."""
    from peftstudio.engine.history import export_feedback  # lazy: off the start-up path (bench/startup.py)

    out = Path(args.out).expanduser()
    try:
        run_dir = resolve_run_dir(args.run)
        rows, method = export_feedback(run_dir, out)
    except PlainError as error:
        print_error(error, args.json)
        return 1
    result = {"ok": True, "rows": rows, "method": method, "out": str(out)}
    print(json.dumps(result) if args.json else
          f"Wrote {rows} {'pairs' if method == 'dpo' else 'judged answers'} to {out}. Train on them with: "
          f"peftstudio train --method {method} --dataset {out} ...")
    return 0
