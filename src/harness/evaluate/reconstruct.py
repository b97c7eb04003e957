"""Predict every test patch and stitch the reconstruction on the test raster."""

from __future__ import annotations

import numpy as np
import torch

from ..data import patches_per_axis
from ..data.scan import stitch_central_tiles


@torch.no_grad()
def predict_patches(generator: torch.nn.Module, patches: torch.Tensor, batch_size: int) -> np.ndarray:
    """Complex object patches (n, N, N) for (n, 1, N, N) diffraction amplitudes, in batches."""
    was_training = generator.training
    generator.eval()
    outputs = [generator(batch).cpu() for batch in patches.split(batch_size)]
    generator.train(was_training)
    return torch.cat(outputs).numpy()


def stitch_reconstructions(object_patches: np.ndarray, norm_y_i: float, object_size: int, stride: int) -> np.ndarray:
    """(nimgs, L, L) complex reconstructions: patches scaled by norm_Y_I, central tiles on the raster."""
    n = object_patches.shape[-1]
    positions = patches_per_axis(object_size, n, stride)
    per_canvas = object_patches.reshape(-1, positions * positions, n, n) * norm_y_i
    return np.stack([stitch_central_tiles(canvas, stride, positions) for canvas in per_canvas])
