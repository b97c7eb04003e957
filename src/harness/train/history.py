"""What a training run records: per epoch, per logged step, and the first non-finite event."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np


@dataclass
class History:
    epochs: list[dict] = field(default_factory=list)      # epoch, train_loss, val_loss, lr, amp_cv, grad norms
    steps: list[dict] = field(default_factory=list)       # step, epoch, loss, grad_norm_pre, grad_norm_post
    nonfinite: dict | None = None                         # {"step", "epoch", "what"}: loss | gradient | weight
    collapse_onset_epoch: int | None = None               # first epoch with a constant validation amplitude
    stop_reason: str | None = None                        # nonfinite | collapsed | None (ran all epochs)
    final_lr: float | None = None                         # the rate after the last scheduler step
    steps_done: int = 0
    # the test-split predictions of the last validation pass (not saved in history.json)
    last_object_patches: np.ndarray | None = field(default=None, repr=False)

    def grad_norm_summary(self) -> dict:
        """mean / max / p99 of the logged pre-clip global gradient norms (finite ones)."""
        norms = np.array([s["grad_norm_pre"] for s in self.steps], dtype=np.float64)
        norms = norms[np.isfinite(norms)]
        if norms.size == 0:
            return {"grad_norm_mean": None, "grad_norm_max": None, "grad_norm_p99": None}
        return {
            "grad_norm_mean": float(norms.mean()),
            "grad_norm_max": float(norms.max()),
            "grad_norm_p99": float(np.percentile(norms, 99)),
        }

    def val_losses(self) -> list[float]:
        return [e["val_loss"] for e in self.epochs]

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "last_object_patches"}
