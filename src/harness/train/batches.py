"""The dataset as tensors on the training device, and the batch iterables Lightning consumes."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..data import Dataset
from ..physics import normalize_probe


@dataclass
class TrainingData:
    """Diffraction amplitudes (n, 1, N, N) of both splits and the normalised probe, on one device."""

    train_x: torch.Tensor
    test_x: torch.Tensor
    probe: torch.Tensor

    @classmethod
    def from_dataset(cls, dataset: Dataset, device: torch.device | str = "cpu") -> "TrainingData":
        def patches(split):
            # (n, N, N, 1) → (n, 1, N, N): a private, writable copy of the read-only cached array
            return torch.from_numpy(np.moveaxis(split["diffraction"], -1, 1).copy()).to(device)

        probe = normalize_probe(np.asarray(dataset.train["probeGuess"]))
        return cls(patches(dataset.train), patches(dataset.test), torch.from_numpy(probe).to(device))


class ShuffledBatches:
    """Batches of the training patches in a new order every epoch, drawn from a seeded generator.

    `epoch_start_state` is the generator's state before the current epoch's order was drawn: with it
    and the number of batches already consumed, an interrupted epoch resumes in the same order.
    """

    def __init__(self, patches: torch.Tensor, batch_size: int, seed: int):
        self.patches = patches
        self.batch_size = batch_size
        self.generator = torch.Generator().manual_seed(seed)
        self.epoch_start_state = self.generator.get_state()
        self._skip = 0

    def __len__(self) -> int:
        return math.ceil(self.patches.shape[0] / self.batch_size)

    def resume_at(self, epoch_start_state: torch.Tensor, batches_done: int) -> None:
        """The next epoch redraws the order from `epoch_start_state` and skips its first `batches_done` batches."""
        self.generator.set_state(epoch_start_state)
        self._skip = batches_done

    def __iter__(self):
        self.epoch_start_state = self.generator.get_state()
        order = torch.randperm(self.patches.shape[0], generator=self.generator).to(self.patches.device)
        skip, self._skip = self._skip, 0
        for start in range(skip * self.batch_size, order.numel(), self.batch_size):
            yield self.patches.index_select(0, order[start:start + self.batch_size])


class GroupBatches:
    """Each member's own shuffled batches side by side: member k's batch in channel k, (B, K, N, N).
    One member yields its batches as they are, (B, 1, N, N)."""

    def __init__(self, patches: torch.Tensor, batch_size: int, seeds: list[int]):
        self.members = [ShuffledBatches(patches, batch_size, seed) for seed in seeds]

    def __len__(self) -> int:
        return len(self.members[0])

    def __iter__(self):
        if len(self.members) == 1:
            yield from self.members[0]
            return
        for batches in zip(*self.members):
            yield torch.cat(batches, dim=1)
