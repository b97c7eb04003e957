"""The raster scan: N×N patches at a fixed stride, row-major (gridsize 1)."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .params import patches_per_axis


def extract_patches(canvases: np.ndarray, patch: int, stride: int) -> np.ndarray:
    """(nimgs, S, S) → (nimgs · k², patch, patch), k = ⌊(S − patch)/stride⌋ + 1, row-major per canvas."""
    windows = sliding_window_view(canvases, (patch, patch), axis=(1, 2))[:, ::stride, ::stride]
    count = patches_per_axis(canvases.shape[1], patch, stride)
    windows = windows[:, :count, :count]
    return np.ascontiguousarray(windows.reshape(-1, patch, patch))


def stitched_crop(patch: int, stride: int, positions: int) -> slice:
    """Canvas region tiled by the central stride×stride pixels of each patch of a raster."""
    margin = (patch - stride) // 2
    return slice(margin, margin + positions * stride)


def stitch_central_tiles(patches: np.ndarray, stride: int, positions: int) -> np.ndarray:
    """Tile the central stride×stride pixels of (positions², N, N) row-major patches into one image."""
    patch = patches.shape[-1]
    margin = (patch - stride) // 2
    tiles = patches[:, margin:margin + stride, margin:margin + stride]
    tiles = tiles.reshape(positions, positions, stride, stride)
    return tiles.transpose(0, 2, 1, 3).reshape(positions * stride, positions * stride)
