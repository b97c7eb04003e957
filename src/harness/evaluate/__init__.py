"""Evaluation: predict → stitch → metrics against the ground truth, and the evidence the verdict reads."""

from .fit_reference import fit_references
from .metrics import amplitude_cv, collapse_floor, mean_reconstruction_metrics, reconstruction_metrics, remove_plane, ssim
from .reconstruct import predict_patches, stitch_reconstructions
from .twin import patch_correlations, point_reflect, twin_evidence

__all__ = [
    "amplitude_cv", "collapse_floor", "fit_references", "mean_reconstruction_metrics", "patch_correlations", "point_reflect",
    "predict_patches", "reconstruction_metrics", "remove_plane", "ssim", "stitch_reconstructions", "twin_evidence",
]
