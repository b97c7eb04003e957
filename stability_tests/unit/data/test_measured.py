"""A measured file as the splits a run trains on: the units the forward model predicts in, the photons kept, the
held-out scan region, the file's content in the cache key, and bad files refused before the cache is touched."""

import dataclasses

import numpy as np
import pytest
import torch

from harness.data import DatasetParams, get_dataset
from harness.data.measured import held_out_region, measured_splits, read_measured
from harness.data.ptycho_npz import simulated_as_ptycho_npz, write_ptycho_npz
from harness.errors import UsageError
from harness.physics import normalize_probe
from harness.physics.forward import far_field_amplitude


@pytest.fixture(scope="module")
def files(tiny_dataset, tmp_path_factory):
    """Our tiny simulated splits as the field's files (train.npz, test.npz)."""
    folder = tmp_path_factory.mktemp("files")
    for split in ("train", "test"):
        arrays, _ = simulated_as_ptycho_npz(tiny_dataset, split)
        write_ptycho_npz(folder / f"{split}.npz", **arrays)
    return folder


def test_amplitudes_of_counts_are_the_simulation_s_own_patterns_and_photons(files, tiny_dataset):
    params = DatasetParams(N=32, data_npz=str(files / "train.npz"), test_data_npz=str(files / "test.npz"))
    splits = measured_splits(params)
    for split in ("train", "test"):
        np.testing.assert_array_equal(splits[split]["diffraction"], getattr(tiny_dataset, split)["diffraction"])
        assert float(splits[split]["photon_scale"]) == pytest.approx(float(tiny_dataset.train["intensity_scale"]),
                                                                     rel=1e-5)
    np.testing.assert_array_equal(normalize_probe(splits["train"]["probeGuess"]),
                                  normalize_probe(tiny_dataset.train["probeGuess"]))


def test_counts_are_scaled_to_a_unit_object_and_keep_their_photons(files, tmp_path):
    data = read_measured(str(files / "train.npz"))
    counts = np.rint((data.diffraction.astype(np.float64) * data.domain.photon_scale) ** 2).astype(np.uint16)
    np.savez(tmp_path / "counts.npz", diff3d=counts, probeGuess=data.probe, xcoords=data.xcoords, ycoords=data.ycoords)
    split = measured_splits(DatasetParams(N=32, data_npz=str(tmp_path / "counts.npz"), test_fraction=0.25))["train"]
    x = split["diffraction"][..., 0].astype(np.float64)
    # √counts = X · photon_scale: the photons stay known
    train_counts = counts[held_out_region(data.xcoords, 0.25) == 0]
    np.testing.assert_allclose((x * float(split["photon_scale"])) ** 2, train_counts, rtol=1e-4, atol=1e-3)
    # the scale puts a unit-transmission object's pattern energy at the mean energy of all the file's patterns
    probe = normalize_probe(data.probe)
    unit_energy = float((far_field_amplitude(torch.from_numpy(probe)).double() ** 2).sum())
    all_x = np.sqrt(counts.astype(np.float64)) / (float(split["photon_scale"]))
    assert np.mean(np.sum(all_x ** 2, axis=(1, 2))) == pytest.approx(unit_energy, rel=1e-6)


@pytest.mark.parametrize("fraction", [0.1, 0.2, 0.5])
def test_the_held_out_region_is_the_last_positions_in_x(files, fraction):
    data = read_measured(str(files / "train.npz"))
    params = DatasetParams(N=32, data_npz=str(files / "train.npz"), test_fraction=fraction)
    splits = measured_splits(params)
    train_x, test_x = splits["train"]["xcoords"], splits["test"]["xcoords"]
    assert train_x.size + test_x.size == data.n_patterns and train_x.size and test_x.size
    assert train_x.max() < test_x.min()        # a region of its own
    assert abs(test_x.size / data.n_patterns - fraction) <= 1 / np.unique(data.xcoords).size + 1e-9


def test_the_cache_key_follows_the_file_s_content_and_a_bad_file_touches_no_cache(files, tmp_path):
    path = tmp_path / "data.npz"
    path.write_bytes((files / "train.npz").read_bytes())
    params = DatasetParams(N=32, data_npz=str(path))
    first = get_dataset(params, tmp_path / "cache")
    assert first.measured and first.metadata["measured"] and first.metadata["file_digest"]
    data = read_measured(str(path))
    write_ptycho_npz(path, data.diffraction[::-1] * np.float32(1), data.probe, data.xcoords, data.ycoords)
    assert params.cache_key() != first.key and get_dataset(params, tmp_path / "cache").key == params.cache_key()
    (tmp_path / "broken.npz").write_bytes(b"not a zip")
    with pytest.raises(UsageError, match="--data-npz"):
        get_dataset(DatasetParams(N=32, data_npz=str(tmp_path / "broken.npz")), tmp_path / "cache2")
    assert not (tmp_path / "cache2").exists()
    with pytest.raises(UsageError, match="--N"):
        get_dataset(dataclasses.replace(params, N=64), tmp_path / "cache3")
    assert not (tmp_path / "cache3").exists()
