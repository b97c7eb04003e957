"""Reconstruction metrics: amplitude and phase MAE and SSIM, and the collapse floor."""

from __future__ import annotations

import math

import numpy as np
import torch
from torchmetrics.functional.image import structural_similarity_index_measure

SSIM_WINDOW = 7
SSIM_K1, SSIM_K2 = 0.01, 0.03
TRIM = 2  # pixels dropped per side before any metric


def ssim(prediction: np.ndarray, truth: np.ndarray, data_range: float) -> float:
    """SSIM with a 7×7 uniform window, K1 0.01, K2 0.03 and the given data range."""
    def as_image(image):
        return torch.from_numpy(np.ascontiguousarray(image, dtype=np.float64))[None, None]

    value = structural_similarity_index_measure(
        as_image(prediction), as_image(truth), gaussian_kernel=False, kernel_size=SSIM_WINDOW,
        data_range=float(data_range), k1=SSIM_K1, k2=SSIM_K2,
    )
    assert isinstance(value, torch.Tensor)   # one image pair: one value
    return float(value)


COLLAPSE_CV = 1e-3   # an amplitude std/mean below this: the output is constant, a collapse


def amplitude_cv(amplitude: np.ndarray) -> float:
    """std/mean of an amplitude image; 0 for an all-zero image (constant), nan if non-finite."""
    amplitude = np.asarray(amplitude, dtype=np.float64)
    if not np.all(np.isfinite(amplitude)):
        return math.nan
    mean = float(amplitude.mean())
    std = float(amplitude.std())
    if mean <= 0:
        return 0.0 if std == 0 else math.inf
    return std / mean


def trim(image: np.ndarray, pixels: int = TRIM) -> np.ndarray:
    return image[pixels:-pixels, pixels:-pixels] if pixels else image


def remove_plane(phase: np.ndarray) -> np.ndarray:
    """Subtract the least-squares plane a + b·x + c·y."""
    rows, cols = np.indices(phase.shape, dtype=np.float64)
    design = np.stack([np.ones(phase.size), rows.ravel(), cols.ravel()], axis=1)
    coefficients, *_ = np.linalg.lstsq(design, phase.ravel().astype(np.float64), rcond=None)
    return phase - (design @ coefficients).reshape(phase.shape)


def amplitude_data_range(truth_amplitude: np.ndarray) -> float:
    return float(truth_amplitude.max() - truth_amplitude.min())


def collapse_floor(truth_amplitude: np.ndarray) -> float:
    """amp_ssim of a constant prediction (the truth's mean everywhere) against this truth."""
    constant = np.full_like(truth_amplitude, truth_amplitude.mean(), dtype=np.float64)
    return ssim(constant, truth_amplitude, amplitude_data_range(truth_amplitude))


def reconstruction_metrics(prediction: np.ndarray, truth: np.ndarray) -> dict:
    """Metrics of a complex reconstruction against the complex ground truth (same shape, untrimmed)."""
    prediction, truth = trim(prediction), trim(truth)
    truth_amp = np.abs(truth).astype(np.float64)
    pred_amp = np.abs(prediction).astype(np.float64)
    pred_mean = pred_amp.mean()
    if np.isfinite(pred_mean) and pred_mean > 0:
        pred_amp = pred_amp * (truth_amp.mean() / pred_mean)
    truth_phase = remove_plane(np.angle(truth))
    pred_phase = remove_plane(np.angle(prediction)) if np.all(np.isfinite(prediction)) else np.full(truth.shape, np.nan)
    def to_unit(phase):
        return (phase + np.pi) / (2 * np.pi)

    return {
        "amp_mae": float(np.mean(np.abs(pred_amp - truth_amp))),
        "amp_ssim": ssim(pred_amp, truth_amp, amplitude_data_range(truth_amp)),
        "phase_mae": float(np.mean(np.abs(pred_phase - truth_phase))),
        "phase_ssim": ssim(to_unit(pred_phase), to_unit(truth_phase), 1.0),
        "collapse_floor": collapse_floor(truth_amp),
    }


def mean_reconstruction_metrics(predictions: np.ndarray, truths: np.ndarray) -> dict:
    """reconstruction_metrics averaged over canvases (nimgs, L, L)."""
    per_canvas = [reconstruction_metrics(p, t) for p, t in zip(predictions, truths)]
    return {key: float(np.mean([m[key] for m in per_canvas])) for key in per_canvas[0]}
