"""The shape of the code: no import cycles between PEFT Studio's modules (lazy imports inside functions count
too), the layer contracts of pyproject.toml hold, and every engine subpackage exports its public names."""
from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import grimp

REPO = Path(__file__).resolve().parent.parent


def import_cycles(package: str = "peftstudio") -> list[list[str]]:
    """Strongly connected groups of modules (Tarjan's algorithm, iterative): each one is a cycle."""
    graph = grimp.build_graph(package)
    edges = {m: sorted(i for i in graph.find_modules_directly_imported_by(m) if i.startswith(package))
             for m in graph.modules}
    index, low, on_stack, stack, groups, counter = {}, {}, set(), [], [], 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, child = work.pop()
            if child == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            targets = edges.get(node, [])
            if child < len(targets):
                work.append((node, child + 1))
                target = targets[child]
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return groups


def test_no_import_cycles():
    assert import_cycles() == []


def test_the_layer_contracts_hold():
    result = subprocess.run([str(Path(sys.executable).parent / "lint-imports"), "--no-cache"], cwd=REPO,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]


def test_every_engine_subpackage_exports_its_public_names():
    for name in ("data", "planning", "training", "history", "export", "evaluation", "runs"):
        package = importlib.import_module(f"peftstudio.engine.{name}")
        assert package.__all__, name
        for public in package.__all__:
            assert getattr(package, public) is not None, (name, public)


def test_every_engine_module_has_a_place_in_the_layers():
    """A new engine module or package must be given its layer (pyproject.toml), or the contract cannot see it."""
    import tomllib

    contracts = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    layers = next(c for c in contracts if c["type"] == "layers")["layers"]
    placed = {name.strip() for layer in layers for name in layer.split("|")}
    engine = REPO / "peftstudio" / "engine"
    present = {p.stem for p in engine.glob("*.py") if p.stem != "__init__"} | \
        {p.parent.name for p in engine.glob("*/__init__.py")}
    assert present - placed == set() and placed - present == set()


def test_the_windows_never_write_run_files():
    """Run files are written by RunFolder only, which the windows reach through the session and the runner."""
    writers = ("RunFolder", "update_info", "write_config", "record_export", "engine.atomic", "write_json_atomic")
    for path in (REPO / "peftstudio" / "ui").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert not [w for w in writers if w in text], path


def _unexplained_local_imports(source: str) -> list[int]:
    """Lines of function-local `from peftstudio...` imports that carry no `# lazy:` reason."""
    lines = source.splitlines()
    missing = []
    for function in ast.walk(ast.parse(source)):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(function):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                if not any(name.startswith("peftstudio") for name in names):
                    continue
                nearby = lines[max(node.lineno - 2, 0) : node.lineno]
                if not any("# lazy:" in line for line in nearby):
                    missing.append(node.lineno)
    return missing


def test_every_function_local_import_of_our_own_says_why_it_waits():
    # A local import either defers a heavy library or keeps the start-up path short;
    # one without a reason is an import cycle being hidden (docs/architecture.md).
    assert _unexplained_local_imports("def f():\n    from peftstudio import x\n") == [2]
    assert _unexplained_local_imports("def f():\n    # lazy: defers torch\n    from peftstudio import x\n") == []
    offenders = []
    for path in sorted((REPO / "peftstudio").rglob("*.py")):
        for line in _unexplained_local_imports(path.read_text(encoding="utf-8")):
            offenders.append(f"{path.relative_to(REPO)}:{line}")
    assert offenders == []
