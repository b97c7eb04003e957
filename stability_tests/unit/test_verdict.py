"""The collapse detector (SPEC §6): a pure function of history, metrics and reconstruction."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.evaluate import collapse_floor, reconstruction_metrics
from harness.evaluate.metrics import trim
from harness.verdict import COLLAPSE_CV, detect

EMPTY_HISTORY = {"nonfinite": None, "collapse_onset_epoch": None, "epochs": []}


@pytest.fixture(scope="module")
def truth(tiny_dataset):
    return tiny_dataset.test["YY_ground_truth"][0, ..., 0]


def _verdict(prediction, truth, history=EMPTY_HISTORY, final_val_loss=0.05):
    metrics = {**reconstruction_metrics(prediction, truth), "final_val_loss": final_val_loss}
    return detect(history, metrics, np.abs(trim(prediction)))


def test_constant_prediction_is_collapsed(truth):
    verdict = _verdict(np.full(truth.shape, 0.7 + 0j), truth)
    assert verdict.crashed and verdict.reasons == ["collapsed"] and verdict.outcome == "crashed"
    assert verdict.evidence["constant"] and verdict.evidence["floor_distance"] < 0.02


def test_ground_truth_itself_is_ok(truth):
    verdict = _verdict(truth, truth)
    assert not verdict.crashed and verdict.reasons == [] and not verdict.crashed_heuristic


def test_nan_in_history_is_nonfinite_with_its_step(truth):
    history = {**EMPTY_HISTORY, "nonfinite": {"step": 17, "epoch": 2, "what": "loss"}}
    verdict = _verdict(truth, truth, history)
    assert verdict.reasons == ["nonfinite"] and verdict.onset_step == 17 and verdict.onset_epoch == 2


def test_nan_reconstruction_is_nonfinite(truth):
    prediction = truth.copy()
    prediction[3, 3] = np.nan
    verdict = detect(EMPTY_HISTORY, {"amp_ssim": math.nan, "collapse_floor": 0.3, "final_val_loss": math.nan},
                     np.abs(prediction))
    assert "nonfinite" in verdict.reasons and verdict.crashed_heuristic


@settings(max_examples=25, deadline=None)
@given(noise=st.floats(0.0, 0.02), seed=st.integers(0, 1000))
def test_small_noise_on_the_truth_stays_ok(truth, noise, seed):
    rng = np.random.default_rng(seed)
    noisy = truth * (1 + noise * rng.standard_normal(truth.shape))
    assert not _verdict(noisy, truth).crashed


@settings(max_examples=40, deadline=None)
@given(mean=st.floats(1e-3, 1e4), relative_std=st.floats(0, COLLAPSE_CV * 0.9), seed=st.integers(0, 1000))
def test_std_over_mean_under_threshold_is_collapsed_whatever_the_mean(mean, relative_std, seed):
    rng = np.random.default_rng(seed)
    amplitude = mean * (1 + relative_std * rng.uniform(-1, 1, size=(40, 40)))
    metrics = {"amp_ssim": 0.9, "collapse_floor": 0.3, "final_val_loss": 0.01}  # SSIM alone would say ok
    verdict = detect(EMPTY_HISTORY, metrics, amplitude)
    assert verdict.crashed and "collapsed" in verdict.reasons


def test_heuristic_is_kept_separately():
    amplitude = np.random.default_rng(0).uniform(0.5, 1.5, size=(20, 20))
    verdict = detect(EMPTY_HISTORY, {"amp_ssim": 0.45, "collapse_floor": 0.3, "final_val_loss": 0.01}, amplitude)
    assert not verdict.crashed and verdict.crashed_heuristic
    verdict = detect(EMPTY_HISTORY, {"amp_ssim": 0.8, "collapse_floor": 0.3, "final_val_loss": 0.2}, amplitude)
    assert not verdict.crashed and verdict.crashed_heuristic


def test_collapse_floor_equals_ssim_of_a_constant_image_computed_independently(truth):
    amplitude = trim(np.abs(truth)).astype(np.float64)
    mu_t = amplitude.mean()
    data_range = amplitude.max() - amplitude.min()
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    # local 7×7 uniform statistics with reflect padding, as the metric's SSIM uses
    from scipy.ndimage import uniform_filter

    padded = np.pad(amplitude, 3, mode="reflect")
    local_mean = uniform_filter(padded, 7, mode="constant")[3:-3, 3:-3]
    local_var = np.clip(uniform_filter(padded**2, 7, mode="constant")[3:-3, 3:-3] - local_mean**2, 0, None)
    # a constant prediction c has zero local variance and zero covariance
    ssim_map = ((2 * mu_t * local_mean + c1) * c2) / ((mu_t**2 + local_mean**2 + c1) * (local_var + c2))
    expected = ssim_map.mean()  # averaged over every pixel of the (reflect-padded) image
    assert collapse_floor(amplitude) == pytest.approx(expected, rel=1e-6)
