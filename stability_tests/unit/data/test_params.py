"""A dataset's parameters: the cache key follows every one of them (and the probe file's content, not its path),
the data of before a parameter existed keeps its key, and contradictory settings are refused naming the flag."""

import dataclasses

import pytest

from harness.data.params import ADDED_LATER, DatasetParams, patches_per_axis, probe_label
from harness.errors import UsageError

BASE = DatasetParams(N=32, object_size=96, train_stride=8, test_stride=8, probe_source="disk")
CHANGES = {"N": 16, "set_phi": False, "nimgs_train": 2, "nimgs_test": 2, "nphotons": 1e6, "object_size": 128,
           "n_lines": 10, "train_stride": 4, "test_stride": 4, "train_seed": 5, "test_seed": 6, "probe_defocus": 1.0,
           "probe_source": "fzp"}


def test_every_parameter_changes_the_cache_key_and_the_probe_file_enters_by_its_digest():
    # a measured file's settings replace the simulation's: test_measured.py and test_configure.py follow them
    measured = {"data_npz", "test_data_npz", "test_fraction"}
    assert set(CHANGES) | {"gridsize", "probe_npz"} | measured == {f.name for f in dataclasses.fields(DatasetParams)}
    keys = {name: dataclasses.replace(BASE, **{name: value}).cache_key() for name, value in CHANGES.items()}
    assert len(set(keys.values()) | {BASE.cache_key()}) == len(CHANGES) + 1
    assert BASE.cache_key("digest-a") != BASE.cache_key("digest-b")
    with_file = dataclasses.replace(BASE, probe_npz="/somewhere/probe.npz")
    assert with_file.cache_key("digest-a") == dataclasses.replace(BASE, probe_npz="/elsewhere/p.npz").cache_key("digest-a")


def test_parameters_added_later_at_their_old_default_leave_the_identity_of_before():
    identity = dataclasses.replace(BASE, **ADDED_LATER).identity()
    assert not set(ADDED_LATER) & set(identity)
    assert "probe_parameters" not in identity


@pytest.mark.parametrize("changes, flag", [
    ({"test_stride": 7}, "--test-stride"),                        # odd difference from N: no central tiles
    ({"test_stride": 40}, "--test-stride"),
    ({"probe_npz": "p.npz", "probe_defocus": 1.0}, "--probe-defocus"),
    ({"probe_source": "fzp", "probe_defocus": 1.0}, "--probe-defocus"),
    ({"probe_source": "fzp", "probe_npz": "p.npz"}, "--probe-source"),
])
def test_contradictory_settings_are_refused_naming_a_flag(changes, flag):
    with pytest.raises(UsageError) as caught:
        dataclasses.replace(BASE, **changes).validate()
    assert caught.value.flag == flag


def test_patch_counts_and_the_probe_label():
    assert patches_per_axis(96, 32, 8) == 9 and BASE.n_train_patches == 81
    assert probe_label({"probe_npz": "/a/b/mine.npz"}) == "file mine.npz"
    assert probe_label({}) == ADDED_LATER["probe_source"]   # a folder from before presets used the disk
