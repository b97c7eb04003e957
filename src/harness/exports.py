"""A package's names, each loaded with the module that defines it, on first use: importing one light module of
a package (its configuration types, say) does not load the rest of it (Lightning, the simulation)."""

from __future__ import annotations

from importlib import import_module
from typing import Any


class LazyExports:
    """The table of a package's names: name → the module (relative to the package) that defines it."""

    def __init__(self, package: str, table: dict[str, str]):
        self.package = package
        self.table = table

    @property
    def names(self) -> list[str]:
        return sorted(self.table)

    def load(self, name: str) -> Any:
        if name not in self.table:
            raise AttributeError(f"module {self.package!r} has no attribute {name!r}")
        return getattr(import_module(self.table[name], self.package), name)
