"""Root pytest configuration: study options, shared fixtures and the aggregation plugin."""

from __future__ import annotations

import pytest

from harness.data import DatasetParams, get_dataset

pytest_plugins = ["harness.study.plugin"]

# A dataset small enough for unit tests that train (seconds on CPU), with the real physics.
TINY_DATASET = DatasetParams(N=32, set_phi=True, object_size=96, n_lines=60, train_stride=8, test_stride=8, nphotons=1e9)


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory):
    """A dataset cache private to this test session."""
    return tmp_path_factory.mktemp("dataset-cache")


@pytest.fixture(scope="session")
def tiny_dataset(cache_dir):
    """The tiny dataset, built once per session through the real cache."""
    return get_dataset(TINY_DATASET, cache_dir)
