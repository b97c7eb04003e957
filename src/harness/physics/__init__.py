"""The physics shared by simulation and training: the probe and the far-field forward model."""

from .forward import far_field_amplitude, predicted_amplitude
from .probe import load_probe_npz, make_synthetic_probe, normalize_probe, probe_support_disk

__all__ = [
    "far_field_amplitude",
    "predicted_amplitude",
    "load_probe_npz",
    "make_synthetic_probe",
    "normalize_probe",
    "probe_support_disk",
]
