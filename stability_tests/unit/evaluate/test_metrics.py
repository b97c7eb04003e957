"""The reconstruction metrics against their definitions: std/mean of an amplitude, the plane removed from a
phase, SSIM's fixed points, and the collapse floor as the SSIM of a constant image."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.evaluate.metrics import COLLAPSE_CV, amplitude_cv, collapse_floor, reconstruction_metrics, remove_plane, ssim


@given(scale=st.floats(1e-3, 1e3), seed=st.integers(0, 1000))
def test_amplitude_cv_is_std_over_mean_and_ignores_the_scale(seed, scale):
    amplitude = np.random.default_rng(seed).random((16, 16)) + 0.5
    assert amplitude_cv(amplitude) == pytest.approx(amplitude.std() / amplitude.mean(), rel=1e-12)
    assert amplitude_cv(scale * amplitude) == pytest.approx(amplitude_cv(amplitude), rel=1e-9)


def test_a_constant_or_empty_amplitude_is_a_collapse_and_a_non_finite_one_is_no_number():
    assert amplitude_cv(np.full((8, 8), 2.0)) == 0.0 < COLLAPSE_CV
    assert amplitude_cv(np.zeros((8, 8))) == 0.0
    assert math.isnan(amplitude_cv(np.array([[1.0, np.nan]])))


@given(a=st.floats(-5, 5), b=st.floats(-1, 1), c=st.floats(-1, 1))
def test_remove_plane_removes_exactly_a_plane(a, b, c):
    rows, cols = np.indices((12, 10), dtype=float)
    bump = np.exp(-((rows - 6) ** 2 + (cols - 4) ** 2) / 8)
    bump_alone = remove_plane(bump)
    assert np.allclose(remove_plane(bump + a + b * rows + c * cols), bump_alone, atol=1e-9)
    assert np.allclose(remove_plane(a + b * rows + c * cols), 0, atol=1e-9)


def test_ssim_is_one_for_identical_images_and_the_floor_is_a_constant_images():
    truth = np.random.default_rng(0).random((32, 32))
    assert ssim(truth, truth, float(np.ptp(truth))) == pytest.approx(1.0)
    floor = collapse_floor(truth)
    assert floor == pytest.approx(ssim(np.full_like(truth, truth.mean()), truth, float(np.ptp(truth))))
    assert 0 <= floor < 0.1      # a constant image shares the mean, no structure


def test_a_perfect_reconstruction_scores_perfectly_whatever_its_global_phase_and_amplitude_scale():
    rng = np.random.default_rng(1)
    truth = (rng.random((24, 24)) + 0.5) * np.exp(1j * rng.random((24, 24)))
    metrics = reconstruction_metrics(3.0 * truth * np.exp(0.7j), truth)
    assert metrics["amp_ssim"] == pytest.approx(1.0) and metrics["amp_mae"] == pytest.approx(0.0, abs=1e-12)
    assert metrics["phase_mae"] == pytest.approx(0.0, abs=1e-9)
