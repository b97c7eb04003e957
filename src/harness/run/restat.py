"""Recompute the verdict of an existing run folder from its files, without retraining."""

from __future__ import annotations

from ..evaluate import mean_reconstruction_metrics
from .classify import add_val_losses, classify
from .folder import RunFolder


def recompute_stats(folder: RunFolder) -> dict:
    """The verdict and metrics from config.json, history.json and recon.npz (raises NotARunFolder)."""
    config = folder.read_json("config.json")
    history = folder.read_json("history.json")
    reconstruction, truth = folder.load_reconstruction()
    metrics = add_val_losses(mean_reconstruction_metrics(reconstruction, truth), history["epochs"])
    _, fields = classify(history, metrics, reconstruction)
    return {
        "run_dir": str(folder.path),
        "arm": config.get("arm"),
        "architecture": config.get("architecture"),
        "depth": config.get("depth"),
        "seed": config.get("train", {}).get("seed"),
        "config_hash": config.get("config_hash"),
        **fields,
    }
