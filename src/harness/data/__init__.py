"""Simulated grid-lines data: parameters → simulation → cache."""

from .cache import Dataset, default_cache_dir, get_dataset
from .params import GENERATOR_VERSION, DatasetParams, patches_per_axis
from .simulation import simulate

__all__ = ["Dataset", "DatasetParams", "GENERATOR_VERSION", "default_cache_dir", "get_dataset", "patches_per_axis",
           "simulate"]
