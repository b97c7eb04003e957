"""Fixtures shared by the tests: tiny data and models with the real physics, a private dataset cache,
the bad-input check of the command line, injected stop requests, and one run per available device."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness.data import DatasetParams, get_dataset
from harness.models import GeneratorPlan
from harness.train import TrainConfig
from harness.train.interrupt import StopRequest

from .tiny import TINY_DATASET, TINY_PLAN


def pytest_configure(config):
    """One torch thread per pytest-xdist worker (and per process it starts): workers × threads within the
    cores. Two workers of two spinning OpenMP threads each on two cores made training tests 20× slower."""
    from harness.study.plugin import is_xdist_worker

    if is_xdist_worker(config):
        import torch

        os.environ["OMP_NUM_THREADS"] = "1"
        torch.set_num_threads(1)


def available_devices() -> list[str]:
    """CPU always; CUDA where a GPU is present (HARNESS_TEST_DEVICES=cpu,cuda narrows or forces the list)."""
    import torch

    chosen = os.environ.get("HARNESS_TEST_DEVICES")
    if chosen:
        return [device.strip() for device in chosen.split(",") if device.strip()]
    return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def pytest_generate_tests(metafunc):
    """A test that takes `compute_device` runs once per available device other than the CPU (marked
    `devices`): it compares that device with a CPU reference, so on a CPU-only machine it has nothing to do."""
    if "compute_device" in metafunc.fixturenames:
        others = [device for device in available_devices() if device != "cpu"]
        metafunc.parametrize("compute_device", [pytest.param(device, marks=pytest.mark.devices) for device in others]
                             or [pytest.param("cpu", marks=pytest.mark.skip(reason="no device but the CPU here: "
                                                                                  "nothing to compare it with"))])


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory):
    """A dataset cache private to this test session."""
    return tmp_path_factory.mktemp("dataset-cache")


@pytest.fixture(scope="session")
def tiny_params() -> DatasetParams:
    return TINY_DATASET


@pytest.fixture(scope="session")
def tiny_dataset(cache_dir):
    """The tiny dataset, built once per session through the real cache."""
    return get_dataset(TINY_DATASET, cache_dir)


@pytest.fixture(scope="session")
def tiny_plan() -> GeneratorPlan:
    return TINY_PLAN


@pytest.fixture
def tiny_run_config(tiny_plan):
    """make(seed=…, study=…, arm=…, **train) → the RunConfig of a tiny 2-epoch run with grad norms logged."""
    from harness.run import RunConfig

    def make(*, study: str = "adhoc", arm: str | None = None, profile: str = "test", **train) -> RunConfig:
        return RunConfig(model=tiny_plan, data=TINY_DATASET,
                         train=TrainConfig(**{"epochs": 2, "log_grad_norm": True, **train}), profile=profile,
                         study=study, arm=arm)

    return make


@pytest.fixture
def configs_of(tiny_run_config):
    """make(seeds, **train) → crash-hunt control-arm configurations of the tiny run, one per seed."""
    def make(seeds, **train):
        return [tiny_run_config(study="crash_hunt", arm="control", **{"grad_clip": 1.0, **train, "seed": seed})
                for seed in seeds]

    return make


def run_harness(arguments: list[str]) -> subprocess.CompletedProcess:
    """`harness ARGUMENTS` in a fresh process."""
    return subprocess.run([sys.executable, "-m", "harness.cli.main", *arguments], capture_output=True, text=True,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})


@pytest.fixture
def harness_process():
    """run(arguments) → the CompletedProcess of `harness ARGUMENTS` in a fresh process."""
    return run_harness


@pytest.fixture
def usage_error(capsys):
    """check(arguments, flag_and_value, untouched): `harness ARGUMENTS` (in this process) exits with status 2
    and one stderr line naming the flag and the value, and writes none of the `untouched` paths."""
    from harness.cli.main import main

    def check(arguments: list[str], flag_and_value: str, untouched: list) -> None:
        capsys.readouterr()
        try:
            status = main(arguments)
        except SystemExit as exc:  # argparse's own errors
            status = exc.code
        err = capsys.readouterr().err
        lines = err.strip().splitlines()
        assert status == 2, err
        assert len(lines) == 1 and flag_and_value in lines[0], err
        for path in untouched:
            assert not path.exists(), path

    return check


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


@pytest.fixture
def stop_after():
    """StopAfter(n): a stop request at the training loop's n-th look."""
    return StopAfter


ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def study_project(monkeypatch, cache_dir):
    """make(pytester, studies_toml) → pytester as a project with the real study tests and plugin, the given
    study definitions, the real profiles and probes and the session's dataset cache."""
    def make(pytester, studies: str):
        fixtures = pytester.path / "fixtures"
        fixtures.mkdir()
        for name in ("profiles.toml", "probes.toml"):
            shutil.copy(ROOT / "fixtures" / name, fixtures / name)
        (fixtures / "studies.toml").write_text(studies)
        monkeypatch.setenv("HARNESS_FIXTURES", str(fixtures))
        monkeypatch.setenv("HARNESS_CACHE_DIR", str(cache_dir))
        pytester.makeconftest('pytest_plugins = ["harness.study.plugin"]')
        pytester.makeini("[pytest]\nmarkers =\n    slow: slow\n    crashhunt: crash hunt\n    shootout: shootout\n")
        for name in ("test_crash_hunt.py", "test_shootout.py"):
            shutil.copy(ROOT / "stability_tests" / "studies" / name, pytester.path / name)
        return pytester

    return make


USER_GENERATORS = textwrap.dedent('''
    import torch
    from torch import nn

    class Plain(nn.Module):
        """Convolutions at full resolution, real and imaginary parts from a 1x1 head."""

        def __init__(self, plan):
            super().__init__()
            self.body = nn.Sequential(*[nn.Conv2d(1 if i == 0 else plan.width, plan.width, 3, padding=1)
                                        for i in range(plan.depth)])
            self.head = nn.Conv2d(plan.width, 2, 1)

        def forward(self, x):
            out = self.head(torch.tanh(self.body(x)))
            return torch.complex(out[:, 0], out[:, 1])

    def build(plan):
        return Plain(plan)

    def raises(plan):
        raise RuntimeError("my generator is broken")

    def real_valued(plan):
        return nn.Conv2d(1, 2, 1)

    def shallow_only(plan):
        if plan.depth > 2:
            raise ValueError(f"depth {plan.depth} is deeper than I can build")
        return Plain(plan)

    not_callable = 3
''')


@pytest.fixture
def user_generators(tmp_path, monkeypatch):
    """A researcher's generators in a module of their own (`my_generators`), importable by path in this process
    and in subprocesses; yields the module's name."""
    from harness.models import architecture

    folder = tmp_path / "user_code"
    folder.mkdir()
    (folder / "my_generators.py").write_text(USER_GENERATORS)
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(folder), os.environ.get("PYTHONPATH", "")]))
    yield "my_generators"
    sys.modules.pop("my_generators", None)
    architecture.cache_clear()
