"""Simulated grid-lines data: parameters → simulation → cache."""

from typing import Any

from ..exports import LazyExports

_EXPORTS = LazyExports(__name__, {
    "Dataset": ".cache", "default_cache_dir": ".cache", "get_dataset": ".cache",
    "GENERATOR_VERSION": ".params", "DatasetParams": ".params", "patches_per_axis": ".params",
    "simulate": ".simulation",
})
__all__ = _EXPORTS.names


def __getattr__(name: str) -> Any:
    return _EXPORTS.load(name)
