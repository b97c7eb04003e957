"""Evaluation: predict → stitch → metrics against the ground truth."""

from .metrics import collapse_floor, mean_reconstruction_metrics, reconstruction_metrics, remove_plane, ssim
from .reconstruct import predict_patches, stitch_reconstructions

__all__ = ["collapse_floor", "mean_reconstruction_metrics", "predict_patches", "reconstruction_metrics", "remove_plane", "ssim", "stitch_reconstructions"]
