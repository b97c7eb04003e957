"""Root pytest configuration: study options, shared fixtures and the aggregation plugin."""

from __future__ import annotations

import pytest

from harness.data import DatasetParams, get_dataset
from harness.train.interrupt import StopRequest

pytest_plugins = ["harness.study.plugin"]

# A dataset small enough for unit tests that train (seconds on CPU), with the real physics.
TINY_DATASET = DatasetParams(N=32, set_phi=True, object_size=96, n_lines=60, train_stride=8, test_stride=8, nphotons=1e9)


def available_devices() -> list[str]:
    """CPU always; CUDA where a GPU is present (HARNESS_TEST_DEVICES=cpu,cuda narrows or forces the list)."""
    import os

    import torch

    chosen = os.environ.get("HARNESS_TEST_DEVICES")
    if chosen:
        return [device.strip() for device in chosen.split(",") if device.strip()]
    return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def pytest_generate_tests(metafunc):
    """A test that takes `compute_device` runs once per available device (marked `devices`)."""
    if "compute_device" in metafunc.fixturenames:
        metafunc.parametrize("compute_device", [pytest.param(device, marks=pytest.mark.devices)
                                                for device in available_devices()])


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory):
    """A dataset cache private to this test session."""
    return tmp_path_factory.mktemp("dataset-cache")


@pytest.fixture(scope="session")
def tiny_dataset(cache_dir):
    """The tiny dataset, built once per session through the real cache."""
    return get_dataset(TINY_DATASET, cache_dir)


def assert_usage_error(arguments: list[str], flag_and_value: str, untouched: list) -> None:
    """Run `harness ARGUMENTS` in a fresh process: exit status 2, one stderr line naming the flag, nothing written."""
    import os
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "harness.cli.main", *arguments], capture_output=True, text=True,
                            env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and flag_and_value in lines[0], result.stderr
    for path in untouched:
        assert not path.exists(), path


class StopAfter(StopRequest):
    """A stop request that turns true at its n-th look: the training loop looks after every step and at
    every epoch's end, so n picks any point of a run to interrupt (no signals, no sleeps)."""

    def __init__(self, looks: int):
        super().__init__()
        self.looks_left = looks

    @property
    def requested(self) -> bool:
        if self.reason is None:
            self.looks_left -= 1
            if self.looks_left <= 0:
                self.reason = "injected stop"
        return self.reason is not None
