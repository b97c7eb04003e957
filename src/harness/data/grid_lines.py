"""The simulated object: random lines, blurred, with an optional phase."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

# A = G(σ=1) + 2·G(σ=5) + 5·G(σ=10) of the line canvas.
BLUR_TERMS = ((1.0, 1.0), (2.0, 5.0), (5.0, 10.0))


def draw_lines(canvas_size: int, n_lines: int, rng: np.random.Generator) -> np.ndarray:
    """A zero canvas with n_lines straight 1-pixel lines set to 1 (endpoints uniform on [0, size))."""
    canvas = np.zeros((canvas_size, canvas_size), dtype=np.float64)
    endpoints = rng.uniform(0.0, canvas_size, size=(n_lines, 4))
    for x0, y0, x1, y1 in endpoints:
        steps = int(np.ceil(max(abs(x1 - x0), abs(y1 - y0)))) + 1
        t = np.linspace(0.0, 1.0, steps)
        rows = np.clip((y0 + t * (y1 - y0)).astype(np.int64), 0, canvas_size - 1)
        cols = np.clip((x0 + t * (x1 - x0)).astype(np.int64), 0, canvas_size - 1)
        canvas[rows, cols] = 1.0
    return canvas


def blurred_amplitude(lines: np.ndarray, object_size: int) -> np.ndarray:
    """Blur the line canvas and crop its central object_size×object_size region (A ≥ 0)."""
    blurred = sum(weight * gaussian_filter(lines, sigma) for weight, sigma in BLUR_TERMS)
    start = (lines.shape[0] - object_size) // 2
    return blurred[start:start + object_size, start:start + object_size]


def lines_amplitudes(nimgs: int, object_size: int, n_lines: int, rng: np.random.Generator) -> np.ndarray:
    """nimgs amplitude canvases (nimgs, object_size, object_size), drawn on a canvas twice the size."""
    return np.stack([
        blurred_amplitude(draw_lines(2 * object_size, n_lines, rng), object_size) for _ in range(nimgs)
    ])


def phase_from_amplitude(amplitude: np.ndarray) -> np.ndarray:
    """φ = π·tanh((A − max A / 2) / (3·mean A)), statistics over all given canvases."""
    return np.pi * np.tanh((amplitude - amplitude.max() / 2.0) / (3.0 * amplitude.mean()))
