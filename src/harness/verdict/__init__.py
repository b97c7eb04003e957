"""The crash verdict: thresholds (with their measurements), a run's course over epochs, the decision."""

from .rules import VERDICT_VERSION, Evidence, Finding, Verdict, detect, fit_threshold, record_fields, twin_named
from .thresholds import COLLAPSE_CV, FIT_ERROR, FIT_FRACTION, FLOOR_MARGIN, RECONSTRUCTED_MARGIN
from .trajectory import Trajectory, epoch_fit_error

__all__ = [
    "COLLAPSE_CV", "FIT_ERROR", "FIT_FRACTION", "FLOOR_MARGIN", "RECONSTRUCTED_MARGIN", "Trajectory",
    "VERDICT_VERSION", "Evidence", "Finding", "Verdict", "detect", "epoch_fit_error", "fit_threshold",
    "record_fields", "twin_named",
]
