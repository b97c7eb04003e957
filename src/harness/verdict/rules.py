"""The crash verdict (SPEC §6): a pure function of the history, the metrics, the final
reconstruction and the twin-image evidence.

Outcomes: `ok`, `crashed` (reasons: nonfinite, collapsed, wrong_solution or twin_image, degraded)
and `inconclusive` (under-trained: neither fits the data nor reconstructs; not a crash).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..physics.probe import twin_phrase
from .thresholds import (COLLAPSE_CV, FIT_ERROR, FIT_FRACTION, FLOOR_MARGIN, HEURISTIC_SSIM, HEURISTIC_VAL_LOSS,
                         RECONSTRUCTED_MARGIN, TWIN_MARGIN, TWIN_MIN_CORRELATION)
from .trajectory import Trajectory, is_finite

VERDICT_VERSION = 2            # bump when the rules change: stats.json of older versions are re-derived


def amplitude_cv(amplitude: np.ndarray) -> float:
    """std/mean of an amplitude image; 0 for an all-zero image (constant), nan if non-finite."""
    amplitude = np.asarray(amplitude, dtype=np.float64)
    if not np.all(np.isfinite(amplitude)):
        return math.nan
    mean = float(amplitude.mean())
    std = float(amplitude.std())
    if mean <= 0:
        return 0.0 if std == 0 else math.inf
    return std / mean


def fit_threshold(metrics: dict) -> float:
    """The fit error below which a run fits the data: from the run's own noise floor and constant-object
    error when recorded, else the paper-data value."""
    noise, constant = metrics.get("fit_noise_floor"), metrics.get("fit_constant_object")
    if is_finite(noise) and is_finite(constant) and constant > noise:
        return noise + (1 - FIT_FRACTION) * (constant - noise)
    return FIT_ERROR


def twin_named(twin: dict | None) -> bool:
    """The patches follow the point-reflected object clearly better than the object itself."""
    if not twin or not is_finite(twin.get("median_twin")) or not is_finite(twin.get("median_direct")):
        return False
    return twin["median_twin"] >= TWIN_MIN_CORRELATION and twin["median_twin"] - twin["median_direct"] >= TWIN_MARGIN


@dataclass
class Verdict:
    outcome: str                        # ok | crashed | inconclusive
    reasons: list[str]                  # crash reasons (empty unless crashed)
    crashed_heuristic: bool
    onset_epoch: int | None             # 1-based epoch from which the run stays failed
    onset_step: int | None              # the non-finite step, when that is the failure
    peak_amp_ssim: float | None
    peak_epoch: int | None
    learned_before_failure: bool | None  # reached floor + RECONSTRUCTED_MARGIN before the onset
    explanation: str
    evidence: dict = field(default_factory=dict)

    @property
    def crashed(self) -> bool:
        return self.outcome == "crashed"


def detect(history: dict, metrics: dict, reconstruction_amplitude: np.ndarray | None, *,
           twin: dict | None = None, loss_mode: str | None = "mae") -> Verdict:
    """Classify one run.

    history: History as a dict (`nonfinite`, `epochs` with per-epoch amp_ssim, amp_cv, val_fit_error);
    metrics: `amp_ssim`, `collapse_floor`, `final_val_loss` (and optionally `final_fit_error`, else the
    last epoch's); reconstruction_amplitude: |recon| (None when none could be made); twin: the
    per-patch correlation summary of `harness.evaluate.twin_evidence`.
    """
    trajectory = Trajectory.from_history(history, loss_mode)
    nonfinite = history.get("nonfinite")
    amp_ssim, floor = metrics.get("amp_ssim"), metrics.get("collapse_floor")
    fit_error = metrics.get("final_fit_error")
    if fit_error is None and trajectory.fit_error:
        fit_error = trajectory.fit_error[-1]
    cv = amplitude_cv(reconstruction_amplitude) if reconstruction_amplitude is not None else math.nan
    scored = is_finite(amp_ssim) and is_finite(floor)

    is_nonfinite = nonfinite is not None or (reconstruction_amplitude is not None and math.isnan(cv))
    constant = cv < COLLAPSE_CV
    no_better_than_constant = scored and amp_ssim <= floor + FLOOR_MARGIN
    reconstructs = scored and amp_ssim >= floor + RECONSTRUCTED_MARGIN
    fit_limit = fit_threshold(metrics)
    fits = is_finite(fit_error) and fit_error <= fit_limit
    peak, peak_epoch = trajectory.peak_amp_ssim()
    if peak is None and is_finite(amp_ssim):
        peak, peak_epoch = amp_ssim, trajectory.n_epochs or None

    reasons, onsets, explanations = [], [], []
    onset_step = None
    if is_nonfinite:
        reasons.append("nonfinite")
        if nonfinite is not None:
            onset_step = nonfinite["step"]
            onsets.append(nonfinite["epoch"] + 1)
            explanations.append(f"non-finite {nonfinite.get('what', 'value')} at step {onset_step} "
                                f"(epoch {nonfinite['epoch'] + 1})")
        else:
            onsets.append(trajectory.n_epochs or None)
            explanations.append("non-finite reconstruction")
    if constant:
        reasons.append("collapsed")
        onset = trajectory.onset_of_final_streak("amp_cv", lambda value: value < COLLAPSE_CV) or trajectory.n_epochs
        onsets.append(onset or None)
        explanations.append(f"constant output (amp std/mean {cv:.2g} < {COLLAPSE_CV:g}) from epoch {onset}")
    if not reasons and no_better_than_constant:
        onset = (trajectory.onset_of_final_streak("amp_ssim", lambda value: value <= floor + FLOOR_MARGIN)
                 or trajectory.n_epochs or None)
        learned, learned_epoch = trajectory.peak_amp_ssim(before_epoch=onset)
        had_learned = learned is not None and learned >= floor + RECONSTRUCTED_MARGIN
        no_better = (f"amp_ssim {amp_ssim:.3f} no better than a constant image (floor {floor:.3f} + {FLOOR_MARGIN})"
                     f" from epoch {onset}")
        if fits:
            named = twin_named(twin)
            reasons.append("twin_image" if named else "wrong_solution")
            onsets.append(onset)
            text = f"fits the data (fit error {fit_error:.3f} ≤ {fit_limit:.3f}) but {no_better}"
            if named:
                text += (f"; its patches follow the point-reflected object (median correlation "
                         f"{twin['median_twin']:+.2f}, with the object {twin['median_direct']:+.2f})")
            if twin is not None and "exact_twin" in twin:
                text += "; the probe's " + twin_phrase(twin["probe_asymmetry"], twin["exact_twin"])
            explanations.append(text)
        elif had_learned:
            reasons.append("degraded")
            onsets.append(onset)
            explanations.append(f"reached amp_ssim {learned:.3f} at epoch {learned_epoch}, then fell: {no_better}")

    if reasons:
        outcome = "crashed"
        onset_epoch = min((o for o in onsets if o is not None), default=None)
        learned, _ = trajectory.peak_amp_ssim(before_epoch=onset_epoch) if onset_epoch else (None, None)
        learned_before_failure = bool(scored and learned is not None and learned >= floor + RECONSTRUCTED_MARGIN)
        explanation = "; ".join(explanations)
    elif reconstructs or (fits and scored):
        outcome, onset_epoch, learned_before_failure = "ok", None, None
        explanation = (f"reconstructs: amp_ssim {amp_ssim:.3f} (floor {floor:.3f})"
                       + (f", fit error {fit_error:.3f}" if is_finite(fit_error) else ""))
    else:
        outcome, onset_epoch, learned_before_failure = "inconclusive", None, None
        fit_text = f"fit error {fit_error:.3f} > {fit_limit:.3f}" if is_finite(fit_error) else "fit error not recorded"
        ssim_text = (f"amp_ssim {amp_ssim:.3f} < floor + {RECONSTRUCTED_MARGIN} ({floor + RECONSTRUCTED_MARGIN:.3f})"
                     if scored else "no amp_ssim")
        explanation = (f"under-trained after {trajectory.n_epochs} epochs: {fit_text} and {ssim_text}; "
                       "train longer (more epochs, or the paper profile on a GPU)")

    final_val_loss = metrics.get("final_val_loss")
    crashed_heuristic = (not is_finite(amp_ssim) or amp_ssim < HEURISTIC_SSIM
                         or not is_finite(final_val_loss) or final_val_loss > HEURISTIC_VAL_LOSS)
    evidence = {
        "amp_cv": cv,
        "constant": bool(constant),
        "amp_ssim_above_floor": amp_ssim - floor if scored else None,
        "no_better_than_constant": bool(no_better_than_constant),
        "reconstructs": bool(reconstructs),
        "fit_error": fit_error if is_finite(fit_error) else None,
        "fit_threshold": fit_limit,
        "fits": bool(fits),
        "twin": twin,
        "twin_named": twin_named(twin),
        "thresholds": {"collapse_cv": COLLAPSE_CV, "floor_margin": FLOOR_MARGIN,
                       "reconstructed_margin": RECONSTRUCTED_MARGIN, "fit_fraction": FIT_FRACTION,
                       "twin_margin": TWIN_MARGIN, "twin_min_correlation": TWIN_MIN_CORRELATION},
        "verdict_version": VERDICT_VERSION,
    }
    return Verdict(outcome=outcome, reasons=reasons, crashed_heuristic=bool(crashed_heuristic),
                   onset_epoch=onset_epoch, onset_step=onset_step, peak_amp_ssim=peak, peak_epoch=peak_epoch,
                   learned_before_failure=learned_before_failure, explanation=explanation, evidence=evidence)
