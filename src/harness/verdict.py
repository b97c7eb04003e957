"""The crash verdict (SPEC §6): a pure function of the history, the metrics and the reconstruction."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

COLLAPSE_CV = 1e-3             # predicted amplitude std/mean below this: the output is constant
FLOOR_MARGIN = 0.02            # amp_ssim within this of the collapse floor: no better than a constant
HEURISTIC_SSIM = 0.5           # the older heuristic: amp_ssim < 0.5 ...
HEURISTIC_VAL_LOSS = 0.15      # ... or final validation loss > 0.15


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


@dataclass
class Verdict:
    crashed: bool
    reasons: list[str]
    crashed_heuristic: bool
    onset_epoch: int | None
    onset_step: int | None
    evidence: dict = field(default_factory=dict)

    @property
    def outcome(self) -> str:
        return "crashed" if self.crashed else "ok"

    @property
    def label(self) -> str:
        return "ok" if not self.reasons else "+".join(self.reasons)

    def as_dict(self) -> dict:
        return {**asdict(self), "outcome": self.outcome}


def detect(history: dict, metrics: dict, reconstruction_amplitude: np.ndarray | None) -> Verdict:
    """Classify one run.

    history: the run's History as a dict (`nonfinite`, `collapse_onset_epoch`, `epochs`);
    metrics: `amp_ssim`, `collapse_floor`, `final_val_loss`; reconstruction_amplitude: |recon|
    (None when no reconstruction could be made).
    """
    reasons = []
    nonfinite = history.get("nonfinite")
    amp_ssim = metrics.get("amp_ssim")
    floor = metrics.get("collapse_floor")
    cv = amplitude_cv(reconstruction_amplitude) if reconstruction_amplitude is not None else math.nan
    if nonfinite is not None or (reconstruction_amplitude is not None and math.isnan(cv)):
        reasons.append("nonfinite")
    floor_distance = abs(amp_ssim - floor) if _finite(amp_ssim) and _finite(floor) else None
    constant = cv < COLLAPSE_CV
    near_floor = floor_distance is not None and floor_distance <= FLOOR_MARGIN
    if constant or near_floor:
        reasons.append("collapsed")

    final_val_loss = metrics.get("final_val_loss")
    crashed_heuristic = (not _finite(amp_ssim) or amp_ssim < HEURISTIC_SSIM
                         or not _finite(final_val_loss) or final_val_loss > HEURISTIC_VAL_LOSS)
    onset_epoch = history.get("collapse_onset_epoch")
    onset_step = None
    if nonfinite is not None:
        onset_step = nonfinite["step"]
        onset_epoch = nonfinite["epoch"] if onset_epoch is None else min(onset_epoch, nonfinite["epoch"])
    return Verdict(
        crashed=bool(reasons),
        reasons=reasons,
        crashed_heuristic=bool(crashed_heuristic),
        onset_epoch=onset_epoch,
        onset_step=onset_step,
        evidence={"amp_cv": cv, "floor_distance": floor_distance, "constant": bool(constant), "near_floor": near_floor},
    )


def _finite(value) -> bool:
    return value is not None and math.isfinite(value)
