"""A run's dataset on the training device and how its predictions are evaluated (shared by a seed group)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data import Dataset, DatasetParams, get_dataset
from ..physics import normalize_probe
from ..train.batches import TrainingData
from .metrics import mean_reconstruction_metrics
from .reconstruct import stitch_reconstructions


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
    def truth(self) -> np.ndarray:
        return self.dataset.test["YY_ground_truth"][..., 0]

    def evaluate(self, object_patches: np.ndarray) -> tuple[np.ndarray, dict]:
        test, params = self.dataset.test, self.data_params
        reconstruction = stitch_reconstructions(object_patches, float(test["norm_Y_I"]), params.object_size,
                                                params.test_stride)
        return reconstruction, mean_reconstruction_metrics(reconstruction, self.truth)

    def amp_ssim(self, object_patches: np.ndarray) -> dict:
        """The per-epoch evaluation of the training's validation predictions."""
        return {"amp_ssim": self.evaluate(object_patches)[1]["amp_ssim"]}
