"""Only engine/runs/ spells the name of a run's file: everywhere else asks a RunFolder (issue 34).

Names unique to runs (run.json, events.jsonl, checkpoints, ...) must not appear as a string anywhere in the
package outside engine/runs/. Names that are also ordinary words or other things' files ("adapter", "config.json"
of a model) must not be used to build a path: the operand of `/`, or an argument of Path(), os.path.join or
joinpath. Docstrings are prose and may name the files."""
from __future__ import annotations

import ast
from pathlib import Path

from peftstudio.engine.runs import layout

PACKAGE = Path(__file__).resolve().parent.parent / "peftstudio"
RUNS = PACKAGE / "engine" / "runs"
# shared with other things: a model folder's config.json, an "adapter" word, a data folder's .lock
AMBIGUOUS = {layout.CONFIG_FILE, layout.ADAPTER_DIR, layout.LOCK_FILE, layout.ADAPTER_CONFIG_FILE,
             layout.CONVERSION_DIR}
RUN_ONLY = {value for name, value in vars(layout).items() if name.isupper() and isinstance(value, str)} - AMBIGUOUS


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def _path_operands(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            ids.update((id(node.left), id(node.right)))
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ("Path", "join", "joinpath", "PurePath"):
                ids.update(id(arg) for arg in node.args)
    return ids


def stray_run_file_names(source: str) -> list[tuple[int, str]]:
    tree = ast.parse(source)
    prose, path_parts = _docstrings(tree), _path_operands(tree)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant) or not isinstance(node.value, str) or id(node) in prose:
            continue
        text = node.value
        if text in RUN_ONLY or any(f"/{name}" in text or f"{name}/" in text for name in RUN_ONLY):
            found.append((node.lineno, text))
        elif text in AMBIGUOUS and id(node) in path_parts:
            found.append((node.lineno, text))
    return found


def test_the_scanner_finds_run_file_names_that_are_spelt_by_hand():
    assert stray_run_file_names('events = run_dir / "events.jsonl"\n') == [(1, "events.jsonl")]
    assert stray_run_file_names('info = json.loads(Path(d, "run.json").read_text())\n') == [(1, "run.json")]
    assert stray_run_file_names('a = run_dir / "adapter"\nb = os.path.join(d, "config.json")\n') == [
        (1, "adapter"), (2, "config.json")]
    assert stray_run_file_names('p = f"{run_dir}/checkpoints/checkpoint-1"\n') == [(1, "/checkpoints/checkpoint-1")]
    # not paths of a run: prose, a model's config named by its own constant, the word "adapter" as a value
    assert stray_run_file_names('"""Reads run.json and events.jsonl."""\nMODEL = "config.json"\nkind = "adapter"\n') \
        == []


def test_no_module_outside_engine_runs_spells_a_run_file_name():
    offenders = {}
    for path in PACKAGE.rglob("*.py"):
        if RUNS in path.parents:
            continue
        found = stray_run_file_names(path.read_text(encoding="utf-8"))
        if found:
            offenders[str(path.relative_to(PACKAGE))] = found
    assert offenders == {}, "ask RunFolder (engine/runs/folder.py) for these paths instead"
