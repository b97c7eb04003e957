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


def stitch_at_positions(patches: np.ndarray, xcoords: np.ndarray, ycoords: np.ndarray,
                        tile: int) -> tuple[np.ndarray, np.ndarray]:
    """The central tile×tile pixels of each (M, N, N) patch placed where its centre (x, y) in pixels lies, rounded
    to the pixel; where tiles overlap, their mean. Any scan, not only a raster (a measured file's positions).
    Returns the image, over the bounding box of the tiles, and the mask of the pixels some tile covers; on a
    raster with tile = stride it is `stitch_central_tiles`."""
    margin = (patches.shape[-1] - tile) // 2
    tiles = patches[:, margin:margin + tile, margin:margin + tile]
    tops, lefts = (np.rint(np.asarray(c, dtype=np.float64) - tile / 2).astype(np.int64) for c in (ycoords, xcoords))
    tops, lefts = tops - tops.min(), lefts - lefts.min()
    total = np.zeros((int(tops.max()) + tile, int(lefts.max()) + tile), dtype=np.result_type(patches.dtype, np.float64))
    count = np.zeros(total.shape, dtype=np.int64)
    for tile_values, top, left in zip(tiles, tops, lefts):
        total[top:top + tile, left:left + tile] += tile_values
        count[top:top + tile, left:left + tile] += 1
    covered = count > 0
    return np.where(covered, total / np.maximum(count, 1), 0), covered


def scan_step(xcoords: np.ndarray, ycoords: np.ndarray) -> float:
    """The median distance from a position to its nearest other position, in pixels (nan for one position)."""
    from scipy.spatial import cKDTree

    if xcoords.size < 2:
        return float("nan")
    points = np.column_stack([xcoords, ycoords])
    distances, _ = cKDTree(points).query(points, k=2)
    return float(np.median(distances[:, 1]))
