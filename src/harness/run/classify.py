"""From a finished run's history, metrics and reconstruction to the verdict fields of stats.json."""

from __future__ import annotations

import math

import numpy as np

from ..verdict import Verdict, detect

METRIC_FIELDS = ("best_val_loss", "final_val_loss", "amp_ssim", "phase_ssim", "amp_mae", "phase_mae", "collapse_floor")


def finite_or_none(value):
    return value if value is None or math.isfinite(value) else None


def add_val_losses(metrics: dict, epochs: list[dict]) -> dict:
    """metrics with best_val_loss (lowest finite) and final_val_loss from the per-epoch history."""
    losses = [e["val_loss"] for e in epochs]
    finite = [v for v in losses if v is not None and math.isfinite(v)]
    return {**metrics, "best_val_loss": min(finite) if finite else math.nan,
            "final_val_loss": losses[-1] if losses and losses[-1] is not None else math.nan}


def classify(history: dict, metrics: dict, reconstruction: np.ndarray) -> tuple[Verdict, dict]:
    """The verdict and the stats fields it contributes; metrics must hold the val losses (add_val_losses)."""
    verdict = detect(history, metrics, np.abs(reconstruction))
    fields = {
        "outcome": verdict.outcome,
        "crashed": verdict.crashed,
        "reasons": verdict.reasons,
        "crashed_heuristic": verdict.crashed_heuristic,
        "onset_epoch": verdict.onset_epoch,
        "onset_step": verdict.onset_step,
        "evidence": {k: finite_or_none(v) if isinstance(v, float) else v for k, v in verdict.evidence.items()},
        **{key: finite_or_none(metrics[key]) for key in METRIC_FIELDS},
    }
    return verdict, fields
