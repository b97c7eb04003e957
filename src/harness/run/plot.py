"""recon.png: amplitude and phase of the reconstruction beside the ground truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..fsutil import atomic_save


def save_reconstruction_png(path: Path, reconstruction: np.ndarray, truth: np.ndarray | None, title: str) -> None:
    """Amplitude and phase beside the truth's; without a truth (measured data) the reconstruction alone."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    reconstructed = [(np.nan_to_num(np.abs(reconstruction)), "reconstructed amplitude"),
                     (np.nan_to_num(np.angle(reconstruction)), "reconstructed phase")]
    if truth is None:
        figure, axes = plt.subplots(1, 2, figsize=(7, 3.8), constrained_layout=True)
        panels = reconstructed
    else:
        figure, axes = plt.subplots(2, 2, figsize=(7, 7), constrained_layout=True)
        panels = [(np.abs(truth), "truth amplitude"), reconstructed[0], (np.angle(truth), "truth phase"),
                  reconstructed[1]]
    for axis, (image, label) in zip(axes.ravel(), panels):
        shown = axis.imshow(image, cmap="gray" if "amplitude" in label else "twilight")
        axis.set_title(label, fontsize=9)
        axis.axis("off")
        figure.colorbar(shown, ax=axis, shrink=0.7)
    figure.suptitle(title, fontsize=10)
    atomic_save(path, lambda temporary: figure.savefig(temporary, dpi=80, format="png"))
    plt.close(figure)
