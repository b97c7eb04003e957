"""A run's dataset on the training device and how its predictions are evaluated (shared by a seed group).

Simulated data is evaluated against its ground truth. A measured file has none: its test patches are stitched at
their scan positions, and the fit is read against references from the data and the probe alone; whether the object
is right is decided across seeds (`consensus.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data import Dataset, DatasetParams, get_dataset
from ..data.scan import scan_step, stitch_at_positions
from ..physics import normalize_probe
from ..train.batches import TrainingData
from .consensus import registered_agreement
from .fit_reference import constant_object_misfit, fit_references, poisson_floor_from_counts
from .metrics import mean_reconstruction_metrics
from .overlap import overlap_evidence
from .reconstruct import stitch_reconstructions
from .twin import patch_correlations


@dataclass
class RunEvaluation:
    """The dataset of a run (or a group: they share it), its tensors on the device, and its evaluation."""

    data_params: DatasetParams
    dataset: Dataset
    data: TrainingData
    probe: np.ndarray        # the normalised probe

    @classmethod
    def load(cls, config, cache_dir=None) -> "RunEvaluation":
        dataset = get_dataset(config.data, cache_dir)
        return cls(config.data, dataset, TrainingData.from_dataset(dataset, config.device),
                   normalize_probe(np.asarray(dataset.test["probeGuess"])))

    @property
    def measured(self) -> bool:
        return self.data_params.measured

    @property
    def truth(self) -> np.ndarray | None:
        """The true object (nimgs, L, L), None for measured data."""
        return None if self.measured else self.dataset.test["YY_ground_truth"][..., 0]

    def evaluate(self, object_patches: np.ndarray) -> tuple[np.ndarray, dict]:
        """The stitched reconstruction (nimgs, L, L) and its metrics against the truth (none for measured data)."""
        test = self.dataset.test
        if self.measured:
            x, y = test["xcoords"], test["ycoords"]
            reconstruction = stitch_measured(object_patches, x, y)
            overlap = overlap_evidence(object_patches, x, y, self.probe)
            metrics = {"overlap_consistency": overlap["direct"], "overlap_consistency_twin": overlap["twin"]}
            if "object_guess" in test:
                metrics["object_guess_agreement"] = reference_agreement(reconstruction[0], test["object_guess"], x, y,
                                                                        object_patches.shape[-1])
            return reconstruction, metrics
        reconstruction = stitch_reconstructions(object_patches, float(test["norm_Y_I"]), self.data_params.object_size,
                                                self.data_params.test_stride)
        return reconstruction, mean_reconstruction_metrics(reconstruction, test["YY_ground_truth"][..., 0])

    def amp_ssim(self, object_patches: np.ndarray) -> dict:
        """The per-epoch evaluation of the training's validation predictions (none without a truth)."""
        return {} if self.measured else {"amp_ssim": self.evaluate(object_patches)[1]["amp_ssim"]}

    def fit_references(self) -> dict:
        """What the run's fit error is read against: the true object's misfit (or, measured, the Poisson floor from
        the counts, None when the photons are unknown) and the best constant object's."""
        test = self.dataset.test
        diffraction = test["diffraction"][..., 0]
        if self.measured:
            photons = float(test["photon_scale"])
            return {"fit_noise_floor": poisson_floor_from_counts(diffraction, photons) if np.isfinite(photons) else None,
                    "fit_constant_object": constant_object_misfit(diffraction, self.probe)}
        return fit_references(diffraction, test["Y_I"][..., 0], test["Y_phi"][..., 0], self.probe)

    def twin_correlations(self, object_patches: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """Per-patch correlations with the true object and its twin (None without a truth)."""
        return None if self.measured else patch_correlations(object_patches, self.dataset.test["Y_I"][..., 0],
                                                             self.probe)


def stitched_tile(xcoords: np.ndarray, ycoords: np.ndarray, n: int) -> int:
    """The side of the central tile each patch gives the stitched image: the scan step, within 1 and N."""
    step = scan_step(xcoords, ycoords)
    return int(np.clip(np.rint(step), 1, n)) if np.isfinite(step) else n


def stitch_measured(object_patches: np.ndarray, xcoords: np.ndarray, ycoords: np.ndarray) -> np.ndarray:
    """(1, H, W): the central tiles of the scan step's size placed at their positions; pixels no tile covers take
    the mean of those covered (a hole is no object, and would read as contrast)."""
    tile = stitched_tile(xcoords, ycoords, object_patches.shape[-1])
    image, covered = stitch_at_positions(object_patches, xcoords, ycoords, tile)
    if not covered.all():
        image = np.where(covered, image, image[covered].mean())
    return image[None]


def reference_agreement(image: np.ndarray, object_guess: np.ndarray, xcoords: np.ndarray, ycoords: np.ndarray,
                        n: int) -> float | None:
    """The agreement (registered amplitude correlation, as across seeds) of a stitched reconstruction with the
    file's objectGuess — another method's reconstruction, a reference and not the truth — over the region the
    stitched tiles cover, the positions being pixels of objectGuess; None where that region leaves objectGuess."""
    tile = stitched_tile(xcoords, ycoords, n)
    top, left = (int(np.rint(np.min(c) - tile / 2)) for c in (ycoords, xcoords))
    if top < 0 or left < 0 or top + image.shape[0] > object_guess.shape[0] or left + image.shape[1] > object_guess.shape[1]:
        return None
    return registered_agreement(image, object_guess[top:top + image.shape[0], left:left + image.shape[1]])
