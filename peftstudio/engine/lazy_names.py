"""Lazy public names for the engine's subpackages (PEP 562): `import peftstudio.engine.planning` costs nothing,
a name is imported from its module on first use, and a module never has to import its own package."""
from __future__ import annotations

from importlib import import_module


def lazy(package: str, exports: dict[str, list[str]]):
    """(__all__, __getattr__) for a package whose public names live in its modules: {module: [names]}."""
    where = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name: str):
        if name in where:
            return getattr(import_module(f"{package}.{where[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return sorted(where), __getattr__
