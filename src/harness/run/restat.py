"""Recompute the verdict of an existing run folder from its files, without retraining."""

from __future__ import annotations

import math

import numpy as np

from ..evaluate import mean_reconstruction_metrics
from ..verdict import detect
from .execute import finite_or_none
from .folder import RunFolder


def recompute_stats(folder: RunFolder) -> dict:
    """The verdict and metrics from config.json, history.json and recon.npz (raises NotARunFolder)."""
    config = folder.read_json("config.json")
    history = folder.read_json("history.json")
    reconstruction, truth = folder.load_reconstruction()
    metrics = mean_reconstruction_metrics(reconstruction, truth)
    val_losses = [e["val_loss"] for e in history["epochs"]]
    finite_losses = [v for v in val_losses if v is not None and math.isfinite(v)]
    metrics["best_val_loss"] = min(finite_losses) if finite_losses else math.nan
    metrics["final_val_loss"] = val_losses[-1] if val_losses else math.nan
    verdict = detect(history, metrics, np.abs(reconstruction))
    return {
        "run_dir": str(folder.path),
        "arm": config.get("arm"),
        "architecture": config.get("architecture"),
        "depth": config.get("depth"),
        "seed": config.get("train", {}).get("seed"),
        "config_hash": config.get("config_hash"),
        "outcome": verdict.outcome,
        "crashed": verdict.crashed,
        "reasons": verdict.reasons,
        "crashed_heuristic": verdict.crashed_heuristic,
        "onset_epoch": verdict.onset_epoch,
        "onset_step": verdict.onset_step,
        **{key: finite_or_none(value) for key, value in metrics.items()},
    }
