"""`harness dataset` from the command line."""

import json
from pathlib import Path

import numpy as np
import pytest

from harness.cli.main import main
from harness.physics import normalize_probe

DISK_SAYS = "probe disk: |P| is point-symmetric: an object with the reflected amplitude fits every pattern exactly"


def test_dataset_command_places_both_splits(tmp_path, capsys):
    # the flags fix the scale, whatever the quick profile's (392 px object: 21² and 17² patches of 64 px)
    status = main(["dataset", "--set-phi", "--profile", "quick", "--N", "64", "--train-stride", "16", "--test-stride",
                   "20", "--cache-dir", str(tmp_path / "cache"), "--output-dir", str(tmp_path / "out")])
    assert status == 0
    printed = capsys.readouterr().out
    assert "patches: train 441, test 289" in printed and "intensity scale" in printed
    assert "probe fzp: |P| is point-asymmetric (0.474 at its best centre): no exact amplitude twin" in printed
    with np.load(tmp_path / "out" / "train.npz") as archive:
        assert archive["diffraction"].shape == (441, 64, 64, 1)
    assert (tmp_path / "out" / "test.npz").exists()


@pytest.mark.parametrize("arguments, said", [
    (["--probe-source", "disk"], DISK_SAYS),
    (["--probe-defocus", "2"], DISK_SAYS),
])
def test_the_summary_says_which_probe_and_whether_its_twin_is_exact(tmp_path, capsys, arguments, said):
    assert main(["dataset", "--profile", "smoke", "--cache-dir", str(tmp_path), *arguments]) == 0
    assert said in capsys.readouterr().out


@pytest.mark.parametrize(
    "arguments, flag",
    [
        (["--nphotons", "-5"], "--nphotons -5.0"),
        (["--probe-npz", "/nonexistent/probe.npz"], "--probe-npz /nonexistent/probe.npz"),
        (["--N", "500"], "--N 500"),
        (["--profile", "huge"], "--profile huge"),
        (["--output-dir", "/proc/forbidden"], "--output-dir /proc/forbidden"),
    ],
)
def test_bad_input_is_one_line_and_status_2(tmp_path, arguments, flag, usage_error):
    cache_dir = tmp_path / "cache"
    usage_error(["dataset", "--cache-dir", str(cache_dir), *arguments], flag, [cache_dir])


def test_a_measured_file_is_summarised_before_any_training(tmp_path, capsys, tiny_dataset):
    """`harness dataset --data-npz FILE`: our simulated test split written as the field's file (with a probe of
    three modes, to be said) reads back as what it is: its patterns, √counts with the simulation's photon scale,
    the raster's extent and step, the probe's twin, no objectGuess."""
    from harness.data.ptycho_npz import simulated_as_ptycho_npz, write_ptycho_npz
    from harness.evaluate.fit_reference import fit_references

    arrays, _ = simulated_as_ptycho_npz(tiny_dataset, "test")
    probe = arrays.pop("probe")
    write_ptycho_npz(tmp_path / "measured.npz", probe=np.stack([probe, probe, probe]), **arrays)
    capsys.readouterr()
    assert main(["dataset", "--data-npz", str(tmp_path / "measured.npz")]) == 0
    out = capsys.readouterr().out.splitlines()
    params, scale = tiny_dataset.params, float(tiny_dataset.test["intensity_scale"])
    assert out[1] == "  patterns: 81 of 32×32, stored as 'diff3d' float32 (M, N, N)"
    assert out[2].startswith(f"  values: amplitudes √k·{1 / scale:.6g} of whole counts k: photon scale {scale:.6g}")
    assert out[3] == "  for training: amplitudes of counts: used as they are"   # the simulation's own units
    assert out[5] == (f"  positions: x 16.0 to {16.0 + 8 * params.test_stride:.1f} px, y 16.0 to "
                      f"{16.0 + 8 * params.test_stride:.1f} px; step {params.test_stride:.2f} px (median distance to "
                      "the nearest other position)")
    assert out[6].startswith("  probe: |P| is point-asymmetric")      # the tiny data's probe is the default zone plate
    assert out[7] == "  objectGuess: none" and out[9:] == ["  note: 'probeGuess' holds 3 probe modes: the first is used"]
    # the references from the data alone: the Poisson floor is the true object's misfit, the constant far above it
    constant, floor = (float(part.rsplit(" ", 1)[1]) for part in out[8].split(": ", 1)[1].split("; "))
    test = tiny_dataset.test
    truth = fit_references(test["diffraction"][..., 0], test["Y_I"][..., 0], test["Y_phi"][..., 0],
                           normalize_probe(np.asarray(test["probeGuess"])))
    assert floor == pytest.approx(truth["fit_noise_floor"], rel=0.05)
    assert constant > 20 * floor
    assert not list(tmp_path.glob("*.npz"))[1:]                       # nothing written beside the file


def test_a_file_that_is_no_ptychography_dataset_is_one_line(tmp_path, usage_error):
    np.savez(tmp_path / "images.npz", images=np.zeros((3, 8, 8)))
    usage_error(["dataset", "--data-npz", str(tmp_path / "images.npz")], f"--data-npz {tmp_path / 'images.npz'}", [])


def test_the_simulated_splits_are_written_as_the_fields_files_with_the_truth_aside(tmp_path, capsys):
    """`--write-ptycho-npz DIR`: each split as a measured file would come, read back to its own patterns and
    photon scale, and its true patches in a file of their own (the data to validate a reference-free verdict on)."""
    from harness.data import get_dataset
    from harness.data.ptycho_npz import read_ptycho_npz

    arguments = ["dataset", "--set-phi", "--profile", "smoke", "--N", "32", "--cache-dir", str(tmp_path / "cache")]
    assert main([*arguments, "--write-ptycho-npz", str(tmp_path / "field")]) == 0
    assert sorted(p.name for p in (tmp_path / "field").iterdir()) == ["test.npz", "test_truth.npz", "train.npz",
                                                                      "train_truth.npz"]
    assert "wrote" in capsys.readouterr().out
    for split in ("train", "test"):
        data = read_ptycho_npz(tmp_path / "field" / f"{split}.npz")
        dataset = get_dataset(get_dataset_params_of(tmp_path / "cache"), tmp_path / "cache")
        stored = getattr(dataset, split)
        np.testing.assert_array_equal(data.diffraction, stored["diffraction"][..., 0])
        assert data.domain.photon_scale == pytest.approx(float(stored["intensity_scale"]), rel=1e-5)
        with np.load(tmp_path / "field" / f"{split}_truth.npz") as truth:
            assert truth.files == ["Y"] and truth["Y"].shape == data.diffraction.shape
            # the true amplitudes are the stored patches' (Y·|P| divided by |P| where the probe is lit)
            modulus = np.abs(normalize_probe(stored["probeGuess"]))
            lit = modulus > 1e-3 * modulus.max()
            np.testing.assert_allclose(np.abs(truth["Y"])[:, lit], stored["Y_I"][..., 0][:, lit] / modulus[lit],
                                       rtol=1e-4, atol=1e-6)


def get_dataset_params_of(cache: Path):
    """The parameters of the one dataset in a cache folder, from its metadata."""
    from harness.data import DatasetParams

    (entry,) = [path for path in cache.iterdir() if path.is_dir()]
    with np.load(entry / "train.npz") as archive:
        return DatasetParams(**json.loads(str(archive["metadata"]))["params"])
