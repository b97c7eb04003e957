"""A user's generator by content: the digest of the source that defines it, so that a run's identity changes when
the code does (an edited module is another configuration, never a finished run reused)."""

from __future__ import annotations

import hashlib
import importlib
import inspect
from pathlib import Path

from ..fsutil import content_digest


def is_import_path(name: str) -> bool:
    """`package.module:callable` names a user's generator; a plain name, a registered one."""
    return ":" in name


def _module_files(module_name: str, attribute: str) -> list[Path]:
    """The file of the module named and, when the callable is defined elsewhere, that module's file too."""
    module = importlib.import_module(module_name)   # the imported module when it is (a process imports it once)
    files = [getattr(module, "__file__", None)]
    defined_in = inspect.getmodule(getattr(module, attribute, None))
    if defined_in is not None and defined_in is not module:
        files.append(getattr(defined_in, "__file__", None))
    return [Path(name) for name in files if name]


def source_digest(name: str) -> str:
    """sha256 over the qualified name and the bytes of the module file(s) that define it; the name alone when it
    cannot be imported (the run is refused for that elsewhere, naming why)."""
    module_name, _, attribute = name.partition(":")
    digest = hashlib.sha256(name.encode())
    try:
        files = _module_files(module_name, attribute)
    except (Exception, SystemExit):  # noqa: BLE001 — architecture() reports the import failure in one line
        files = []
    for path in files:
        try:
            digest.update(content_digest(path).encode())
        except OSError:
            digest.update(str(path).encode())
    return digest.hexdigest()[:16]
