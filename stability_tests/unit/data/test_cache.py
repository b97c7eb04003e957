"""The dataset cache: built once, atomic, verified on load."""

import multiprocessing

import numpy as np
import pytest

from harness.data import DatasetParams, cache, get_dataset
from stability_tests.tiny import TINY_DATASET


def test_second_request_reuses_the_cache(tmp_path):
    builds = cache.build_count
    first = get_dataset(TINY_DATASET, tmp_path)
    second = get_dataset(TINY_DATASET, tmp_path)
    assert cache.build_count == builds + 1
    assert first.built and not second.built
    np.testing.assert_array_equal(first.train["diffraction"], second.train["diffraction"])
    assert not second.train["diffraction"].flags.writeable  # shared read-only


def test_key_changes_with_every_parameter():
    base = TINY_DATASET.cache_key()
    for change in ({"nphotons": 1e8}, {"set_phi": False}, {"train_stride": 4}, {"test_seed": 3}, {"N": 16}):
        assert DatasetParams(**{**TINY_DATASET.as_dict(), **change}).cache_key() != base


@pytest.mark.parametrize("damage", ["truncate", "flip_bytes"])
def test_corrupt_entry_is_rebuilt_with_a_warning(tmp_path, damage):
    dataset = get_dataset(TINY_DATASET, tmp_path)
    path = dataset.path("train")
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        path.write_bytes(bytes(data[: len(data) // 2]))
    else:  # damage array bytes in the middle of the file without breaking the zip structure
        middle = len(data) // 2
        data[middle:middle + 64] = bytes(255 - b for b in data[middle:middle + 64])
        path.write_bytes(bytes(data))
    builds = cache.build_count
    with pytest.warns(UserWarning, match="corrupt"):
        rebuilt = get_dataset(TINY_DATASET, tmp_path)
    assert rebuilt.built and cache.build_count == builds + 1
    np.testing.assert_array_equal(rebuilt.train["diffraction"], dataset.train["diffraction"])


def _build_in_subprocess(cache_dir):
    get_dataset(TINY_DATASET, cache_dir)


@pytest.mark.integration
def test_two_processes_building_at_once_leave_one_valid_entry(tmp_path):
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_build_in_subprocess, args=(tmp_path,)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    entries = [p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")]
    assert entries == [TINY_DATASET.cache_key()]
    assert not get_dataset(TINY_DATASET, tmp_path).built


def test_bad_input_leaves_nothing_in_the_cache(tmp_path):
    from harness.errors import UsageError

    with pytest.raises(UsageError):
        get_dataset(DatasetParams(**{**TINY_DATASET.as_dict(), "probe_npz": str(tmp_path / "missing.npz")}), tmp_path / "c")
    assert not (tmp_path / "c").exists()


def test_a_full_disk_while_the_cache_is_written_is_named_and_leaves_no_staging(tmp_path, monkeypatch):
    import errno

    from harness.data import cache as cache_module
    from harness.fsutil import DiskFull
    from stability_tests.tiny import TINY_DATASET

    def no_space(path, **arrays):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cache_module.np, "savez", no_space)
    with pytest.raises(DiskFull, match="no space left on the device writing"):
        cache_module.get_dataset(TINY_DATASET, tmp_path)
    assert [p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")] == []
