"""Recompute the verdict of an existing run folder from its files, without retraining."""

from __future__ import annotations

from ..evaluate import mean_reconstruction_metrics, twin_evidence
from ..verdict import VERDICT_VERSION
from .classify import CLASSIFIED, METRIC_FIELDS, add_val_losses, classify
from .folder import NotARunFolder, RunFolder


def recompute_stats(folder: RunFolder) -> dict:
    """The verdict and metrics from config.json, history.json, metrics.json and recon.npz (raises NotARunFolder).

    Folders written before the twin-image correlations were kept have no twin evidence: a run that
    fits but does not reconstruct is then `wrong_solution`, never `twin_image`.
    """
    config = folder.read_json("config.json")
    history = folder.read_json("history.json")
    reconstruction, truth = folder.load_reconstruction()
    recorded = folder.read_json("metrics.json") if (folder / "metrics.json").is_file() else {}
    metrics = add_val_losses(mean_reconstruction_metrics(reconstruction, truth), history["epochs"])
    metrics.update({key: recorded[key] for key in METRIC_FIELDS if key not in metrics and key in recorded})
    correlations = folder.load_patch_correlations()
    _, fields = classify(history, metrics, reconstruction, twin=twin_evidence(*correlations) if correlations else None,
                         loss_mode=config.get("train", {}).get("loss_mode", "mae"))
    return {
        "run_dir": str(folder.path),
        "arm": config.get("arm"),
        "architecture": config.get("architecture"),
        "depth": config.get("depth"),
        "seed": config.get("train", {}).get("seed"),
        "config_hash": config.get("config_hash"),
        **fields,
    }


def refreshed_stats(folder: RunFolder, stats: dict, write: bool = True) -> dict:
    """stats with the verdict re-derived when it was decided by an older version of the rules
    (written back to stats.json when `write`); unchanged when current, unclassified or unreadable."""
    if stats.get("outcome") not in CLASSIFIED or stats.get("verdict_version") == VERDICT_VERSION:
        return stats
    try:
        fresh = recompute_stats(folder)
    except (NotARunFolder, OSError, ValueError, KeyError):
        return stats
    identity = ("run_dir", "arm", "architecture", "depth", "seed", "config_hash")
    updated = {**stats, **{key: value for key, value in fresh.items() if key not in identity}}
    if write:
        folder.write_json("stats.json", updated)
    return updated
