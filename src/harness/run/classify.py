"""From a finished run's history, metrics, reconstruction and twin evidence to the verdict fields of stats.json."""

from __future__ import annotations

import math

import numpy as np

from ..verdict import VERDICT_VERSION, Verdict, detect

METRIC_FIELDS = ("best_val_loss", "final_val_loss", "amp_ssim", "phase_ssim", "amp_mae", "phase_mae", "collapse_floor",
                 "fit_noise_floor", "fit_constant_object")
CLASSIFIED = ("ok", "crashed", "inconclusive")   # outcomes the verdict decides (oom and infeasible it never sees)


def finite_or_none(value):
    return value if value is None or math.isfinite(value) else None


def _json_ready(value):
    if isinstance(value, float):
        return finite_or_none(value)
    if isinstance(value, dict):
        return {key: _json_ready(item) for key, item in value.items()}
    return value


def outcome_label(stats: dict) -> str:
    """A run's outcome in one phrase, from its stats or record: `ok`, `inconclusive`, `oom`, or
    `crashed (reasons, from epoch k)`."""
    if not stats.get("crashed"):
        return stats["outcome"]
    onset = f", from epoch {stats['onset_epoch']}" if stats.get("onset_epoch") else ""
    return "crashed (" + ", ".join(stats["reasons"]) + onset + ")"


def add_val_losses(metrics: dict, epochs: list[dict]) -> dict:
    """metrics with best_val_loss (lowest finite) and final_val_loss from the per-epoch history."""
    losses = [e["val_loss"] for e in epochs]
    finite = [v for v in losses if v is not None and math.isfinite(v)]
    return {**metrics, "best_val_loss": min(finite) if finite else math.nan,
            "final_val_loss": losses[-1] if losses and losses[-1] is not None else math.nan}


def classify(history: dict, metrics: dict, reconstruction: np.ndarray, *, twin: dict | None = None,
             loss_mode: str | None = "mae") -> tuple[Verdict, dict]:
    """The verdict and the stats fields it contributes; metrics must hold the val losses (add_val_losses)."""
    verdict = detect(history, metrics, np.abs(reconstruction), twin=twin, loss_mode=loss_mode)
    fields = {
        "outcome": verdict.outcome,
        "crashed": verdict.crashed,
        "reasons": verdict.reasons,
        "explanation": verdict.explanation,
        "crashed_heuristic": verdict.crashed_heuristic,
        "onset_epoch": verdict.onset_epoch,
        "onset_step": verdict.onset_step,
        "peak_amp_ssim": finite_or_none(verdict.peak_amp_ssim),
        "peak_epoch": verdict.peak_epoch,
        "learned_before_failure": verdict.learned_before_failure,
        "fit_error": verdict.evidence["fit_error"],
        "verdict_version": VERDICT_VERSION,
        "evidence": _json_ready(verdict.evidence),
        **{key: finite_or_none(metrics.get(key)) for key in METRIC_FIELDS},
    }
    return verdict, fields
