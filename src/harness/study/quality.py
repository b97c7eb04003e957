"""Reconstruction quality without survivorship bias: every classified run counts, crashed ones at their value.

A performance profile per arm (the fraction of runs whose final amp_ssim is at least τ, for every τ) and the
paired per-seed differences against the control with an exact sign-flip test; never a mean of survivors.
"""

from __future__ import annotations

from statistics import median
from typing import Sequence

import numpy as np

from ..run.record import RunRecord
from ..verdict.thresholds import RECONSTRUCTED_MARGIN
from .statistics import sign_flip_test

THRESHOLDS = [round(float(t), 3) for t in np.linspace(0.0, 1.0, 101)]
# A crashed run whose reconstruction is not finite has no amp_ssim; it counts at the bottom, with the lowest
# SSIM there is, so that dropping it never makes an arm look better.
NONFINITE_SCORE = -1.0


def _scored(records: Sequence[RunRecord]) -> list[RunRecord]:
    return [r for r in records if r.classified and (r.amp_ssim is not None or r.crashed)]


def _ssim(record: RunRecord) -> float:
    """The amp_ssim of a scored record; a crash without one scores NONFINITE_SCORE."""
    return NONFINITE_SCORE if record.amp_ssim is None else record.amp_ssim


BOOTSTRAP_DRAWS = 2000


def profile_band(scores: np.ndarray, confidence: float = 0.95, draws: int = BOOTSTRAP_DRAWS,
                 seed: int = 0) -> tuple[list[float], list[float]]:
    """The percentile bootstrap band of the profile (rliable's stratified bootstrap: runs are resampled within
    their own depth or arm, the stratum, never pooled across them), fixed seed."""
    rng = np.random.default_rng(seed)
    resampled = scores[rng.integers(0, scores.size, size=(draws, scores.size))]
    fractions = (resampled[:, :, None] >= np.array(THRESHOLDS)[None, None, :]).mean(axis=1)   # [draw, τ]
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(fractions, [tail, 100 - tail], axis=0)
    return [float(v) for v in low], [float(v) for v in high]


def performance_profile(records: Sequence[RunRecord]) -> dict:
    """Fractions of classified runs with final amp_ssim ≥ τ over THRESHOLDS with their bootstrap band, the
    collapse floor (median over the runs) and the "reconstructs" line above it."""
    scores = np.array([_ssim(r) for r in _scored(records)])
    band = profile_band(scores) if scores.size else ([], [])
    floors = [r.collapse_floor for r in _scored(records) if r.collapse_floor is not None]
    floor = median(floors) if floors else None
    reconstructed = [_ssim(r) >= floor_of + RECONSTRUCTED_MARGIN for r in _scored(records)
                     if (floor_of := r.collapse_floor if r.collapse_floor is not None else floor) is not None]
    return {"runs": int(scores.size), "thresholds": THRESHOLDS,
            "share_reconstructed": float(np.mean(reconstructed)) if reconstructed else None,
            "fraction": [float(np.mean(scores >= t)) for t in THRESHOLDS] if scores.size else [],
            "band_low": band[0], "band_high": band[1],
            "collapse_floor": floor, "reconstructs": None if floor is None else floor + RECONSTRUCTED_MARGIN,
            "median_amp_ssim": float(np.median(scores)) if scores.size else None}


def paired_quality(arm: Sequence[RunRecord], control: Sequence[RunRecord]) -> dict | None:
    """Per-seed amp_ssim differences (arm − control) over the seeds classified in both, sign-flip tested."""
    control_by_seed = {r.seed: _ssim(r) for r in _scored(control)}
    differences = [_ssim(r) - control_by_seed[r.seed] for r in _scored(arm) if r.seed in control_by_seed]
    return sign_flip_test(differences)
