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
