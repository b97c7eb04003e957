"""Recording a run: its folder started, the verdict from its files, the record written (and re-derived).

evaluate → verdict → record: a trained run's history, reconstruction and evidence become its folder's
files and its RunRecord, stats.json last; an old folder's verdict is re-derived from the same files.
"""

from __future__ import annotations

import math
import time

import numpy as np

from ..data.params import probe_label
from ..environment import run_environment
from ..evaluate import mean_reconstruction_metrics, predict_patches, twin_evidence
from ..physics.probe import probe_symmetry
from ..verdict import VERDICT_VERSION, Evidence, detect
from .config import RunConfig
from .folder import NotARunFolder, RunFolder
from .plot import save_reconstruction_png
from .record import CLASSIFIED, RECORDED_METRICS, VERDICT_FIELDS, Identity, RunRecord, finite_or_none, json_ready

# What a run on measured data keeps in metrics.json beside the recorded metrics, read again by a re-derived verdict.
MEASURED_METRICS = ("overlap_consistency", "overlap_consistency_twin")


def start_folder(config: RunConfig, folder: RunFolder) -> None:
    """An empty run folder holding this run's config.json (a previous attempt's artifacts removed)."""
    folder.path.mkdir(parents=True, exist_ok=True)
    folder.clear()
    folder.write_json("config.json", {**config.as_dict(), "probe": config.data.probe_description(),
                                      "config_hash": config.config_hash})


def untrained_record(config: RunConfig, outcome: str, message: str, wall_s: float) -> RunRecord:
    """A run that was not trained to a verdict (oom, infeasible): never a crash."""
    return RunRecord.untrained(Identity.of(config), outcome, message, wall_s=wall_s,
                               environment=run_environment(config.device, config.train.bf16_autocast))


def add_val_losses(metrics: dict, epochs: list[dict]) -> dict:
    """metrics with best_val_loss (lowest finite) and final_val_loss from the per-epoch history."""
    losses = [e["val_loss"] for e in epochs]
    finite = [v for v in losses if v is not None and math.isfinite(v)]
    return {**metrics, "best_val_loss": min(finite) if finite else math.nan,
            "final_val_loss": losses[-1] if losses and losses[-1] is not None else math.nan}


def classify(history: dict, metrics: dict, reconstruction: np.ndarray, *, twin: dict | None = None,
             loss_mode: str | None = "mae", measured: bool = False) -> dict:
    """The verdict's fields of a record and the metrics kept beside them; metrics must hold the val losses
    (add_val_losses)."""
    verdict = detect(Evidence.of(history, metrics, np.abs(reconstruction), twin=twin, loss_mode=loss_mode,
                                 measured=measured))
    fields = verdict.as_record()
    return {**fields, "peak_amp_ssim": finite_or_none(verdict.peak_amp_ssim), "evidence": json_ready(fields["evidence"]),
            **{key: finite_or_none(metrics.get(key)) for key in RECORDED_METRICS}}


def record_trained_run(config: RunConfig, folder: RunFolder, evaluation, model, history, timings: dict,
                       **training) -> RunRecord:
    """evaluate → verdict → files: one trained run's history, metrics, weights and reconstruction written
    to its folder, and its record (not yet written: stats.json comes last, once the group is done)."""
    clock = time.perf_counter()
    # The last validation pass already predicted the test split with the final weights.
    object_patches = history.last_object_patches
    if object_patches is None:
        object_patches = predict_patches(model, evaluation.data.test_x, config.train.infer_batch_size)
    reconstruction, metrics = evaluation.evaluate(object_patches)
    metrics = add_val_losses(metrics, history.epochs)
    metrics.update(evaluation.fit_references())
    correlations = evaluation.twin_correlations(object_patches)
    twin = None if correlations is None else twin_evidence(correlations[0], correlations[1],
                                                            symmetry=probe_symmetry(evaluation.probe))
    verdict = classify(history.as_dict(), metrics, reconstruction, twin=twin, loss_mode=config.train.loss_mode,
                       measured=evaluation.measured)
    if "object_guess_agreement" in metrics:   # kept with the evidence: a reference reconstruction, not the truth
        verdict["evidence"]["object_guess_agreement"] = finite_or_none(metrics["object_guess_agreement"])
    timings["evaluate_s"] = time.perf_counter() - clock

    clock = time.perf_counter()
    record = RunRecord(**vars(Identity.of(config)), **verdict, n_epochs=len(history.epochs),
                       stop_reason=history.stop_reason, **history.grad_norm_summary(),
                       environment=run_environment(config.device, config.train.bf16_autocast), timings=timings,
                       **training)
    truth = evaluation.truth
    folder.write_json("history.json", history.as_dict())
    folder.write_json("metrics.json", {key: finite_or_none(value) for key, value in metrics.items()})
    folder.save_model(model)
    folder.save_reconstruction(reconstruction, truth, correlations,
                               **({"object_patches": object_patches, "probe": evaluation.probe} if evaluation.measured
                                  else {}))
    scores = (f"amp SSIM {metrics['amp_ssim']:.3f}, floor {metrics['collapse_floor']:.3f}" if truth is not None else
              f"fit error {record.fit_error:.3f}" if record.fit_error is not None else "no fit error")
    save_reconstruction_png(folder / "recon.png", reconstruction[0], None if truth is None else truth[0],
                            f"{config.arm_name} depth {config.depth} seed {config.seed}: {record.label} ({scores})")
    timings["write_s"] = time.perf_counter() - clock
    return record


def rederived_verdict(folder: RunFolder) -> dict:
    """The verdict's fields from config.json, history.json, metrics.json and recon.npz (raises NotARunFolder).

    Folders written before the twin-image correlations were kept have no twin evidence: a run that
    fits but does not reconstruct is then `wrong_solution`, never `twin_image`.
    """
    config = folder.read_json("config.json")
    history = folder.read_json("history.json", needs=("epochs",))
    if not isinstance(history["epochs"], list) or not all(isinstance(e, dict) and "val_loss" in e
                                                          for e in history["epochs"]):
        raise NotARunFolder(f"{folder / 'history.json'} does not hold a run's epochs")
    reconstruction, truth = folder.load_reconstruction()
    recorded = folder.read_json("metrics.json") if (folder / "metrics.json").is_file() else {}
    measured = truth is None
    metrics = add_val_losses({} if truth is None else mean_reconstruction_metrics(reconstruction, truth),
                             history["epochs"])
    metrics.update({key: recorded[key] for key in (*RECORDED_METRICS, *MEASURED_METRICS)
                    if key not in metrics and key in recorded})
    correlations = folder.load_patch_correlations()
    return classify(history, metrics, reconstruction, twin=twin_evidence(*correlations) if correlations else None,
                    loss_mode=config.get("train", {}).get("loss_mode", "mae"), measured=measured)


def rederived_record(folder: RunFolder) -> RunRecord:
    """A folder's record with its verdict derived anew by today's rules (`harness stats`)."""
    config = folder.read_json("config.json", needs=("train",))
    verdict = rederived_verdict(folder)
    if (stats := folder.finished_record()) is not None:
        return stats.replace(**verdict, run_dir=str(folder.path))
    return RunRecord(study=config.get("study", "adhoc"), arm=config.get("arm"), architecture=config.get("architecture"),
                     depth=config.get("depth"), seed=config.get("train", {}).get("seed"),
                     profile=config.get("profile"), device=config.get("device"),
                     config_hash=config.get("config_hash"), probe=probe_label(config.get("data", {})),
                     run_dir=str(folder.path), **verdict)


def refreshed_record(folder: RunFolder, record: RunRecord, write: bool = True) -> RunRecord:
    """The record with its verdict re-derived when it was decided by an older version of the rules
    (written back to stats.json when `write`); unchanged when current, unclassified or unreadable."""
    if record.outcome not in CLASSIFIED or record.verdict_version == VERDICT_VERSION:
        return record
    try:
        fresh = rederived_verdict(folder)
    except (NotARunFolder, OSError, ValueError, KeyError):
        return record
    updated = record.replace(**{key: fresh[key] for key in VERDICT_FIELDS})
    if write:
        folder.write_record(updated)
    return updated
