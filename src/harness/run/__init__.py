"""One run: its configuration, folder, record and execution."""

from typing import Any

from ..exports import LazyExports

_EXPORTS = LazyExports(__name__, {
    "RunConfig": ".config", "execute_group": ".execute", "execute_run": ".execute",
    "NotARunFolder": ".folder", "RunFolder": ".folder", "OUTCOMES": ".record", "RunRecord": ".record",
})
__all__ = _EXPORTS.names


def __getattr__(name: str) -> Any:
    return _EXPORTS.load(name)
