"""The grid-lines simulation."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.data import DatasetParams, patches_per_axis, simulate
from harness.data.scan import extract_patches, stitch_central_tiles, stitched_crop
from harness.errors import UsageError
from stability_tests.tiny import TINY_DATASET


@pytest.fixture(scope="module")
def paper_splits():
    return simulate(DatasetParams(set_phi=True))


@pytest.mark.integration
def test_paper_patch_counts(paper_splits):
    assert paper_splits["train"]["diffraction"].shape == (6889, 64, 64, 1)
    assert paper_splits["test"]["diffraction"].shape == (1089, 64, 64, 1)
    assert paper_splits["test"]["YY_ground_truth"].shape == (1, 330, 330, 1)


def test_npz_keys_and_dtypes(paper_splits):
    train, test = paper_splits["train"], paper_splits["test"]
    for key in ("diffraction", "Y_I", "Y_phi"):
        assert train[key].dtype == np.float32
    assert train["probeGuess"].dtype == np.complex64 and train["probeGuess"].shape == (64, 64)
    assert train["YY_full"].shape == (1, 392, 392, 1) and train["YY_full"].dtype == np.complex64
    metadata = json.loads(str(test["metadata"]))
    assert metadata["params"]["nphotons"] == 1e9 and metadata["generator_version"]
    assert len(metadata["content_hash"]) == 64
    assert float(test["norm_Y_I"]) > 0


def test_parseval_holds_per_patch_up_to_poisson_noise(paper_splits):
    for split in paper_splits.values():
        measured = np.sum(split["diffraction"].astype(np.float64) ** 2, axis=(1, 2, 3))
        expected = np.sum(split["Y_I"].astype(np.float64) ** 2, axis=(1, 2, 3))
        assert np.max(np.abs(measured / expected - 1)) < 1e-3


def test_training_split_carries_the_photon_budget(paper_splits):
    train = paper_splits["train"]
    scale = float(train["intensity_scale"])
    photons = np.mean(np.sum((scale * train["diffraction"].astype(np.float64)) ** 2, axis=(1, 2, 3)))
    assert photons == pytest.approx(1e9, rel=1e-4)


def test_phase_is_bounded_and_varies_with_set_phi(paper_splits):
    phase = paper_splits["train"]["Y_phi"]
    assert phase.min() > -np.pi and phase.max() < np.pi
    assert phase.std() > 0.05


def test_no_phase_without_set_phi():
    splits = simulate(DatasetParams(**{**TINY_DATASET.as_dict(), "set_phi": False}))
    assert np.all(splits["train"]["Y_phi"] == 0) and np.all(splits["test"]["Y_phi"] == 0)


def test_same_parameters_give_identical_bytes_and_hash():
    first, second = simulate(TINY_DATASET), simulate(TINY_DATASET)
    for split in ("train", "test"):
        for key, value in first[split].items():
            np.testing.assert_array_equal(value, second[split][key])


def test_another_data_seed_gives_other_data():
    base = simulate(TINY_DATASET)
    other = simulate(DatasetParams(**{**TINY_DATASET.as_dict(), "train_seed": 7}))
    assert not np.array_equal(base["train"]["diffraction"], other["train"]["diffraction"])
    # the test object is untouched; only its photon scale follows the training split
    np.testing.assert_array_equal(base["test"]["Y_I"], other["test"]["Y_I"])


@settings(max_examples=40, deadline=None)
@given(size=st.integers(16, 120), patch=st.sampled_from([8, 16]), stride=st.integers(1, 12), nimgs=st.integers(1, 2))
def test_patch_count_formula(size, patch, stride, nimgs):
    canvases = np.zeros((nimgs, size, size), dtype=np.float32)
    patches = extract_patches(canvases, patch, stride)
    assert patches.shape == (nimgs * ((size - patch) // stride + 1) ** 2, patch, patch)
    assert patches_per_axis(size, patch, stride) == (size - patch) // stride + 1


@settings(max_examples=25, deadline=None)
@given(positions=st.integers(1, 6), stride=st.sampled_from([2, 4, 6]), patch=st.sampled_from([8, 12]))
def test_stitching_central_tiles_rebuilds_the_canvas_crop(positions, stride, patch):
    size = (positions - 1) * stride + patch
    canvas = np.random.default_rng(positions).normal(size=(1, size, size))
    patches = extract_patches(canvas, patch, stride)
    crop = stitched_crop(patch, stride, positions)
    np.testing.assert_array_equal(stitch_central_tiles(patches, stride, positions), canvas[0][crop, crop])


@pytest.mark.parametrize(
    "change, flag",
    [
        ({"nphotons": -1.0}, "--nphotons"),
        ({"nphotons": float("nan")}, "--nphotons"),
        ({"N": 400}, "--N"),
        ({"N": 33}, "--N"),
        ({"gridsize": 2}, "--gridsize"),
        ({"nimgs_train": 0}, "--nimgs-train"),
    ],
)
def test_bad_parameters_name_the_flag(change, flag):
    with pytest.raises(UsageError) as info:
        simulate(DatasetParams(**{**TINY_DATASET.as_dict(), **change}))
    assert info.value.flag == flag


@pytest.mark.parametrize("scale, says", [(1e300, "holds values beyond single precision"),
                                         (1e-44, "gives a probe with values beyond single precision at N=32")])
def test_a_probe_file_the_simulation_cannot_use_is_one_line_and_nothing_written(tmp_path, usage_error, scale, says):
    from harness.physics.probe import make_synthetic_probe

    path = tmp_path / "probe.npz"
    np.savez(path, probeGuess=make_synthetic_probe(32, 0.0).astype(np.complex128) * scale)
    folder = tmp_path / "run"
    usage_error(["run", "--profile", "smoke", "--N", "32", "--probe-npz", str(path), "--output-dir", str(folder)],
                f"--probe-npz {path}: ", [folder])
    usage_error(["run", "--profile", "smoke", "--N", "32", "--probe-npz", str(path), "--output-dir", str(folder)],
                says, [folder])


def test_a_preset_the_simulation_cannot_use_is_one_line_and_nothing_written(tmp_path, usage_error, monkeypatch):
    import shutil

    from harness.fixtures import FIXTURES_ENV, fixtures_dir

    fixtures = tmp_path / "fixtures"
    shutil.copytree(fixtures_dir(), fixtures, ignore=shutil.ignore_patterns(".cache"))
    with open(fixtures / "probes.toml", "a") as file:
        file.write('\n[everywhere]\nkind = "zone_plate"\npupil-radius = 5000.0\n')   # its far field: a point
    monkeypatch.setenv(FIXTURES_ENV, str(fixtures))
    folder = tmp_path / "run"
    usage_error(["run", "--profile", "smoke", "--probe-source", "everywhere", "--output-dir", str(folder)],
                "--probe-source everywhere: gives a probe the simulation cannot use at N=64", [folder])
