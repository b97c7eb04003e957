"""The crash verdict: a pure function of what a run left — its history, metrics, final reconstruction and the
twin-image evidence — gathered once into `Evidence` and read by one small rule per failure reason.

Outcomes: `ok`, `crashed` (reasons: nonfinite, collapsed, wrong_solution or twin_image, degraded) and
`inconclusive` (under-trained: neither fits the data nor reconstructs; not a crash).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

import numpy as np

from ..evaluate.metrics import amplitude_cv
from ..physics.probe import twin_phrase
from .thresholds import (
    COLLAPSE_CV,
    FIT_ERROR,
    FIT_FRACTION,
    FLOOR_MARGIN,
    HEURISTIC_SSIM,
    HEURISTIC_VAL_LOSS,
    OVERLAP_TWIN_MARGIN,
    RECONSTRUCTED_MARGIN,
    TWIN_MARGIN,
    TWIN_MIN_CORRELATION,
)
from .trajectory import Trajectory, is_finite

VERDICT_VERSION = 3            # bump when the rules change: stats.json of older versions are re-derived


def fit_threshold(metrics: dict) -> float:
    """The fit error below which a run fits the data: from the run's own noise floor and constant-object
    error when recorded, else the paper-data value."""
    noise, constant = metrics.get("fit_noise_floor"), metrics.get("fit_constant_object")
    if is_finite(constant) and not is_finite(noise) and metrics.get("measured"):
        noise = 0.0     # photons unknown: the whole of the constant object's misfit counts (the stricter limit)
    if is_finite(noise) and is_finite(constant) and constant > noise:
        return noise + (1 - FIT_FRACTION) * (constant - noise)
    return FIT_ERROR


def twin_named(twin: dict | None) -> bool:
    """The patches follow the point-reflected object clearly better than the object itself."""
    if not twin or not is_finite(twin.get("median_twin")) or not is_finite(twin.get("median_direct")):
        return False
    return twin["median_twin"] >= TWIN_MIN_CORRELATION and twin["median_twin"] - twin["median_direct"] >= TWIN_MARGIN


@dataclass(frozen=True)
class Evidence:
    """What the rules read about one run, each quantity computed once."""
    trajectory: Trajectory
    nonfinite: dict | None          # the first non-finite step ({step, epoch, what}), when training met one
    reconstructed: bool             # whether a reconstruction could be made at all
    amp_cv: float                   # std/mean of |reconstruction| (nan: non-finite, or none made)
    amp_ssim: float | None
    floor: float | None             # the collapse floor: a constant image's amp_ssim
    fit_error: float | None
    fit_limit: float
    final_val_loss: float | None
    twin: dict | None
    measured: bool = False          # measured data: no ground truth, the object is judged across seeds
    overlap: dict | None = None     # measured data: the patches' overlap consistency, as predicted and as twins

    @classmethod
    def of(cls, history: dict, metrics: dict, reconstruction_amplitude: np.ndarray | None, *,
           twin: dict | None = None, loss_mode: str | None = "mae", measured: bool = False) -> "Evidence":
        """history: History as a dict (`nonfinite`, `epochs` with per-epoch amp_ssim, amp_cv, val_fit_error);
        metrics: `amp_ssim`, `collapse_floor`, `final_val_loss` (and optionally `final_fit_error`, else the last
        epoch's); reconstruction_amplitude: |recon| (None when none could be made); twin: the per-patch
        correlation summary of `harness.evaluate.twin_evidence`."""
        trajectory = Trajectory.from_history(history, loss_mode)
        fit_error = metrics.get("final_fit_error")
        if fit_error is None and trajectory.fit_error:
            fit_error = trajectory.fit_error[-1]
        made = reconstruction_amplitude is not None
        return cls(trajectory=trajectory, nonfinite=history.get("nonfinite"), reconstructed=made,
                   amp_cv=amplitude_cv(reconstruction_amplitude) if reconstruction_amplitude is not None else math.nan,
                   amp_ssim=metrics.get("amp_ssim"), floor=metrics.get("collapse_floor"), fit_error=fit_error,
                   fit_limit=fit_threshold({**metrics, "measured": measured}),
                   final_val_loss=metrics.get("final_val_loss"), twin=twin, measured=measured,
                   overlap={"direct": metrics.get("overlap_consistency"), "twin": metrics.get("overlap_consistency_twin")}
                   if measured else None)

    @property
    def scored(self) -> bool:
        return is_finite(self.amp_ssim) and is_finite(self.floor)

    def ssim_and_floor(self) -> tuple[float, float]:
        """(amp_ssim, floor) of a scored run."""
        assert is_finite(self.amp_ssim) and is_finite(self.floor)
        return self.amp_ssim, self.floor

    @property
    def constant(self) -> bool:
        return self.amp_cv < COLLAPSE_CV

    @property
    def no_better_than_constant(self) -> bool:
        if not self.scored:
            return False
        amp_ssim, floor = self.ssim_and_floor()
        return amp_ssim <= floor + FLOOR_MARGIN

    @property
    def reconstructs(self) -> bool:
        if not self.scored:
            return False
        amp_ssim, floor = self.ssim_and_floor()
        return amp_ssim >= floor + RECONSTRUCTED_MARGIN

    @property
    def fits(self) -> bool:
        return is_finite(self.fit_error) and self.fit_error <= self.fit_limit

    def learned_before(self, epoch: int | None) -> tuple[bool, float | None, int | None]:
        """(whether amp_ssim reached floor + RECONSTRUCTED_MARGIN before `epoch`, that peak, its epoch)."""
        peak, peak_epoch = self.trajectory.peak_amp_ssim(before_epoch=epoch) if epoch else (None, None)
        learned = self.scored and peak is not None and peak >= self.ssim_and_floor()[1] + RECONSTRUCTED_MARGIN
        return learned, peak, peak_epoch

    @property
    def above_floor(self) -> float | None:
        """amp_ssim − the collapse floor of a scored run (None otherwise)."""
        if not self.scored:
            return None
        amp_ssim, floor = self.ssim_and_floor()
        return amp_ssim - floor

    def as_record(self) -> dict:
        """The evidence as stats.json keeps it."""
        return {
            "amp_cv": self.amp_cv,
            "constant": bool(self.constant),
            "amp_ssim_above_floor": self.above_floor,
            "no_better_than_constant": bool(self.no_better_than_constant),
            "reconstructs": bool(self.reconstructs),
            "fit_error": self.fit_error if is_finite(self.fit_error) else None,
            "fit_threshold": self.fit_limit,
            "fits": bool(self.fits),
            "twin": self.twin,
            "twin_named": twin_named(self.twin),
            "measured": self.measured,
            "overlap_consistency": self.overlap,
            "thresholds": {"collapse_cv": COLLAPSE_CV, "floor_margin": FLOOR_MARGIN,
                           "reconstructed_margin": RECONSTRUCTED_MARGIN, "fit_fraction": FIT_FRACTION,
                           "twin_margin": TWIN_MARGIN, "twin_min_correlation": TWIN_MIN_CORRELATION},
            "verdict_version": VERDICT_VERSION,
        }


@dataclass(frozen=True)
class Finding:
    """One failure a rule found: its reason, the 1-based epoch from which the run stays failed, and its words."""
    reason: str
    onset_epoch: int | None
    text: str
    onset_step: int | None = None


def nonfinite_finding(evidence: Evidence) -> Finding | None:
    """A non-finite loss or gradient during training, or a non-finite reconstruction."""
    nonfinite = evidence.nonfinite
    if nonfinite is not None:
        step, epoch = nonfinite["step"], nonfinite["epoch"] + 1
        return Finding("nonfinite", epoch, f"non-finite {nonfinite.get('what', 'value')} at step {step} (epoch {epoch})",
                       onset_step=step)
    if evidence.reconstructed and math.isnan(evidence.amp_cv):
        return Finding("nonfinite", evidence.trajectory.n_epochs or None, "non-finite reconstruction")
    return None


def collapsed_finding(evidence: Evidence) -> Finding | None:
    """A constant output: the reconstruction's amplitude does not vary."""
    if not evidence.constant:
        return None
    onset = (evidence.trajectory.onset_of_final_streak("amp_cv", lambda value: value < COLLAPSE_CV)
             or evidence.trajectory.n_epochs)
    return Finding("collapsed", onset or None,
                   f"constant output (amp std/mean {evidence.amp_cv:.2g} < {COLLAPSE_CV:g}) from epoch {onset}")


def no_better_than_constant_finding(evidence: Evidence) -> Finding | None:
    """A reconstruction no better than a constant image: `wrong_solution` (or `twin_image`, when the patches
    follow the point-reflected object) if it fits the data, `degraded` if it had reconstructed before."""
    if not evidence.no_better_than_constant:
        return None
    amp_ssim, floor = evidence.ssim_and_floor()
    onset = (evidence.trajectory.onset_of_final_streak("amp_ssim", lambda value: value <= floor + FLOOR_MARGIN)
             or evidence.trajectory.n_epochs or None)
    no_better = (f"amp_ssim {amp_ssim:.3f} no better than a constant image (floor {floor:.3f} + {FLOOR_MARGIN})"
                 f" from epoch {onset}")
    if evidence.fits:
        # a wrong solution is one that fits the data: it exists from the epoch from which both held as measured
        # then, not from the first low SSIM of a run that did not yet fit
        fitting = evidence.trajectory.onset_of_final_streak("fit_error", lambda value: value <= evidence.fit_limit)
        onset = max(onset, fitting) if onset and fitting else onset
        no_better = (f"amp_ssim {amp_ssim:.3f} no better than a constant image (floor {floor:.3f} + {FLOOR_MARGIN})"
                     f", and fitting the data, from epoch {onset}")
        twin = evidence.twin
        named = twin_named(twin)
        text = f"fits the data (fit error {evidence.fit_error:.3f} ≤ {evidence.fit_limit:.3f}) but {no_better}"
        if named and twin is not None:
            text += (f"; its patches follow the point-reflected object (median correlation "
                     f"{twin['median_twin']:+.2f}, with the object {twin['median_direct']:+.2f})")
        if twin is not None and "exact_twin" in twin:
            text += "; the probe's " + twin_phrase(twin["probe_asymmetry"], twin["exact_twin"])
        return Finding("twin_image" if named else "wrong_solution", onset, text)
    had_learned, learned, learned_epoch = evidence.learned_before(onset)
    if had_learned:
        return Finding("degraded", onset, f"reached amp_ssim {learned:.3f} at epoch {learned_epoch}, then fell: "
                                          f"{no_better}")
    return None


def overlap_names_twin(overlap: dict | None) -> bool:
    """The patches, each replaced by its own twin, agree where the scan overlaps by OVERLAP_TWIN_MARGIN more than as
    predicted ({"direct", "twin"}: evaluate/overlap.py's overlap_evidence)."""
    direct, twin = (overlap or {}).get("direct"), (overlap or {}).get("twin")
    return is_finite(direct) and is_finite(twin) and twin >= direct + OVERLAP_TWIN_MARGIN


def patchwise_twin_finding(evidence: Evidence) -> Finding | None:
    """Measured data: a fitting run whose patches agree with each other where the scan overlaps better once each is
    replaced by its own twin — each patch fits its pattern with the twin (see evaluate/overlap.py)."""
    overlap = evidence.overlap
    if not evidence.measured or not evidence.fits or not overlap_names_twin(overlap):
        return None
    assert overlap is not None
    direct, twin = overlap["direct"], overlap["twin"]
    return Finding("twin_image", evidence.trajectory.n_epochs or None,
                   f"fits the data (fit error {evidence.fit_error:.3f} ≤ {evidence.fit_limit:.3f}) with each patch's twin: "
                   f"where the scan overlaps, its patches agree {direct:.2f} as predicted and {twin:.2f} once each is "
                   "point-reflected and conjugated")


# The rules in the order they are read; a later rule is read only when none before it found a failure
# (a run that produced NaN or a constant output has no reconstruction worth comparing with the object).
RULES = ((nonfinite_finding, collapsed_finding), (no_better_than_constant_finding, patchwise_twin_finding))


def findings_of(evidence: Evidence) -> list[Finding]:
    for tier in RULES:
        found = [finding for rule in tier if (finding := rule(evidence)) is not None]
        if found:
            return found
    return []


@dataclass(frozen=True)
class Verdict:
    outcome: str                        # ok | crashed | inconclusive
    reasons: tuple[str, ...]            # crash reasons (empty unless crashed)
    crashed_heuristic: bool
    onset_epoch: int | None             # 1-based epoch from which the run stays failed
    onset_step: int | None              # the non-finite step, when that is the failure
    peak_amp_ssim: float | None
    peak_epoch: int | None
    learned_before_failure: bool | None  # reached floor + RECONSTRUCTED_MARGIN before the onset
    explanation: str
    fit_error: float | None
    verdict_version: int = VERDICT_VERSION
    evidence: dict = field(default_factory=dict)

    @property
    def crashed(self) -> bool:
        return self.outcome == "crashed"

    def as_record(self) -> dict:
        """The verdict's fields of a run record (stats.json), `crashed` included."""
        return {**{f.name: getattr(self, f.name) for f in fields(self)}, "crashed": self.crashed}


def record_fields() -> tuple[str, ...]:
    """The names a verdict contributes to a run record."""
    return (*(f.name for f in fields(Verdict)), "crashed")


def detect(evidence: Evidence) -> Verdict:
    """Classify one run from its evidence: crashed when a rule finds a failure, ok when it reconstructs the object
    or fits the data, else inconclusive."""
    findings = findings_of(evidence)
    peak, peak_epoch = evidence.trajectory.peak_amp_ssim()
    if peak is None and is_finite(evidence.amp_ssim):
        peak, peak_epoch = evidence.amp_ssim, evidence.trajectory.n_epochs or None
    amp_ssim, floor, fit_error = evidence.amp_ssim, evidence.floor, evidence.fit_error
    onset_epoch = onset_step = learned_before_failure = None
    if findings:
        outcome = "crashed"
        onset_epoch = min((f.onset_epoch for f in findings if f.onset_epoch is not None), default=None)
        onset_step = next((f.onset_step for f in findings if f.onset_step is not None), None)
        learned_before_failure = evidence.learned_before(onset_epoch)[0]
        explanation = "; ".join(f.text for f in findings)
    elif evidence.measured and evidence.fits:
        outcome = "ok"
        explanation = (f"fits the data (fit error {fit_error:.3f} ≤ {evidence.fit_limit:.3f}); whether it "
                       f"reconstructs the object is read from its agreement with the other seeds")
    elif evidence.reconstructs or (evidence.fits and evidence.scored):
        outcome = "ok"
        explanation = (f"reconstructs: amp_ssim {amp_ssim:.3f} (floor {floor:.3f})"
                       + (f", fit error {fit_error:.3f}" if is_finite(fit_error) else ""))
    else:
        outcome = "inconclusive"
        fit_text = (f"fit error {fit_error:.3f} > {evidence.fit_limit:.3f}" if is_finite(fit_error)
                    else "fit error not recorded")
        ssim_text = "no ground truth (measured data)" if evidence.measured else "no amp_ssim"
        if evidence.scored:
            floor = evidence.ssim_and_floor()[1]
            ssim_text = f"amp_ssim {amp_ssim:.3f} < floor + {RECONSTRUCTED_MARGIN} ({floor + RECONSTRUCTED_MARGIN:.3f})"
        explanation = (f"under-trained after {evidence.trajectory.n_epochs} epochs: {fit_text} and {ssim_text}; "
                       "train longer (more epochs, or the paper profile on a GPU)")
    final_val_loss = evidence.final_val_loss
    crashed_heuristic = (not is_finite(amp_ssim) or amp_ssim < HEURISTIC_SSIM
                         or not is_finite(final_val_loss) or final_val_loss > HEURISTIC_VAL_LOSS)
    return Verdict(outcome=outcome, reasons=tuple(f.reason for f in findings), crashed_heuristic=bool(crashed_heuristic),
                   onset_epoch=onset_epoch, onset_step=onset_step, peak_amp_ssim=peak, peak_epoch=peak_epoch,
                   learned_before_failure=learned_before_failure, explanation=explanation,
                   fit_error=fit_error if is_finite(fit_error) else None, evidence=evidence.as_record())
