"""A run's configuration: its hash follows what the run computes and nothing else; its folder is named after it."""

import dataclasses
from pathlib import Path

import pytest

from harness.run.config import RunConfig
from harness.train.config import TrainConfig
from stability_tests.tiny import TINY_DATASET, TINY_PLAN

BASE = RunConfig(model=TINY_PLAN, data=TINY_DATASET, train=TrainConfig(epochs=2), profile="smoke")


@pytest.mark.parametrize("changed", [
    dict(model=dataclasses.replace(TINY_PLAN, depth=3)), dict(data=dataclasses.replace(TINY_DATASET, nphotons=1e6)),
    dict(train=TrainConfig(epochs=3)), dict(train=TrainConfig(epochs=2, seed=5)), dict(profile="quick"),
    dict(device="cuda"),
])
def test_what_the_run_computes_changes_its_hash(changed):
    assert dataclasses.replace(BASE, **changed).config_hash != BASE.config_hash


@pytest.mark.parametrize("changed", [dict(threads=3), dict(study="shootout"), dict(arm="control"),
                                     dict(device="cpu")])
def test_where_and_how_it_runs_leaves_its_hash(changed):
    assert dataclasses.replace(BASE, **changed).config_hash == BASE.config_hash
    cuda = dataclasses.replace(BASE, device="cuda:0")
    assert dataclasses.replace(BASE, device="cuda:1").config_hash == cuda.config_hash   # one GPU or another


def test_its_folder_and_seed():
    config = dataclasses.replace(BASE, study="crash_hunt", arm="control").with_seed(7)
    assert config.default_folder("runs") == Path("runs/crash_hunt/control/depth2_seed7") and config.seed == 7
    assert BASE.default_folder("r") == Path("r/adhoc/hybrid/depth2_seed20260128")   # the arm: its architecture


def test_a_model_planned_for_other_patches_than_the_data_is_refused():
    with pytest.raises(ValueError, match="planned for patches of 16 px"):
        dataclasses.replace(BASE, model=dataclasses.replace(TINY_PLAN, n=16))


def test_a_probe_file_enters_by_its_content_not_its_path(tmp_path):
    import numpy as np

    first, second = tmp_path / "a.npz", tmp_path / "b.npz"
    np.savez(first, probeGuess=np.ones((8, 8), np.complex64))
    np.savez(second, probeGuess=np.ones((8, 8), np.complex64))
    with_probe = dataclasses.replace(BASE, data=dataclasses.replace(TINY_DATASET, probe_npz=str(first)))
    before = with_probe.config_hash
    assert dataclasses.replace(with_probe, data=dataclasses.replace(TINY_DATASET, probe_npz=str(second))).config_hash \
        == before                                   # the same bytes elsewhere: the same run
    np.savez(first, probeGuess=2 * np.ones((8, 8), np.complex64))
    assert with_probe.config_hash != before         # the file replaced: another run


def test_a_user_generator_enters_by_its_source(tmp_path, monkeypatch):
    import os
    import sys

    module = tmp_path / "edited_generator.py"
    module.write_text("def build(plan):\n    return None\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    config = dataclasses.replace(BASE, model=dataclasses.replace(TINY_PLAN, architecture="edited_generator:build"))
    before = config.config_hash
    module.write_text("def build(plan):\n    return None  # edited\n")
    os.utime(module, ns=(1, 1))
    sys.modules.pop("edited_generator", None)     # a new process imports the edited file
    assert config.config_hash != before
    other = dataclasses.replace(config, model=dataclasses.replace(TINY_PLAN, architecture="edited_generator:other"))
    assert other.config_hash != config.config_hash  # another callable of the same file
    sys.modules.pop("edited_generator", None)
