"""`harness dataset` from the command line."""

import numpy as np
import pytest

from harness.cli.main import main

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
