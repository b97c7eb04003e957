"""One run end to end: simulate → cache → train → evaluate → verdict → record (SPEC §5–§7)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import torch

from ..data import get_dataset
from ..environment import run_environment
from ..evaluate import (fit_references, mean_reconstruction_metrics, patch_correlations, predict_patches,
                        stitch_reconstructions, twin_evidence)
from ..fsutil import place_file
from ..models import InfeasibleModel, build_generator, make_plan
from ..physics import normalize_probe
from ..train import TrainingData, fit, seeded
from ..train.checkpoint import CHECKPOINT_NAME, CheckpointPolicy, Checkpointer, CheckpointRefused, read_checkpoint
from .classify import CLASSIFIED, add_val_losses, classify, finite_or_none
from .config import RunConfig
from .folder import ARTIFACTS, RunFolder
from .plot import save_reconstruction_png
from .restat import refreshed_stats

OUTCOMES = (*CLASSIFIED, "oom", "infeasible")


def is_out_of_memory(error: BaseException) -> bool:
    if isinstance(error, (torch.OutOfMemoryError, MemoryError)):
        return True
    message = str(error).lower()
    return isinstance(error, RuntimeError) and ("out of memory" in message or "can't allocate memory" in message)


def resolve_device(requested: str) -> str:
    """`auto` → cuda when present, else cpu; explicit names pass through."""
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return requested


def _identity(config: RunConfig) -> dict:
    return {
        "study": config.study, "arm": config.arm_name, "architecture": config.architecture, "depth": config.depth,
        "seed": config.seed, "profile": config.profile, "device": config.device, "config_hash": config.config_hash,
    }


def _unfinished(config: RunConfig, outcome: str, message: str, wall_s: float) -> dict:
    """Stats of a run that was not trained to a verdict (oom, infeasible): never a crash."""
    return {**_identity(config), "outcome": outcome, "crashed": False, "reasons": [], "message": message,
            "wall_s": wall_s, "params": None,
            "environment": run_environment(config.device, config.train.bf16_autocast)}


def train_and_evaluate(config: RunConfig, folder: RunFolder, *, cache_dir=None,
                       progress: Callable[[str], None] | None = None, checkpointer: Checkpointer | None = None,
                       resume: dict | None = None) -> dict:
    timings = {}
    clock = time.perf_counter()
    dataset = get_dataset(config.data, cache_dir)
    data = TrainingData.from_dataset(dataset, config.device)
    test = dataset.test
    truth = test["YY_ground_truth"][..., 0]
    norm_y_i = float(test["norm_Y_I"])
    probe = normalize_probe(np.asarray(test["probeGuess"]))
    timings["data_s"] = time.perf_counter() - clock

    def evaluate(object_patches: np.ndarray) -> tuple[np.ndarray, dict]:
        reconstruction = stitch_reconstructions(object_patches, norm_y_i, config.data.object_size,
                                                config.data.test_stride)
        return reconstruction, mean_reconstruction_metrics(reconstruction, truth)

    clock = time.perf_counter()
    with seeded(config.seed):
        model = build_generator(config.architecture, depth=config.depth, width=config.width, modes=config.modes,
                                max_hidden_channels=config.max_hidden_channels, n=config.data.N).to(config.device)
        params = sum(p.numel() for p in model.parameters())
        if progress:
            progress(f"{config.arm_name} depth {config.depth} seed {config.seed}: {params:,} parameters, "
                     f"{data.train_x.shape[0]} training patches, {config.train.epochs} epochs on {config.device}")
            if resume is not None:
                epoch, batches_done = resume["position"]
                progress(f"resuming from {folder / CHECKPOINT_NAME}: epoch {epoch + 1}, after {batches_done} steps of it "
                         f"({resume['history']['steps_done']} steps done)")
        history = fit(model, data, config.train, device=config.device, root_dir=folder.path,
                      threads=config.threads, progress=progress,
                      epoch_evaluator=lambda patches: {"amp_ssim": evaluate(patches)[1]["amp_ssim"]},
                      checkpointer=checkpointer, resume=resume)
    timings["train_s"] = time.perf_counter() - clock

    clock = time.perf_counter()
    # The last validation pass already predicted the test split with the final weights.
    object_patches = history.last_object_patches
    if object_patches is None:
        object_patches = predict_patches(model, data.test_x, config.train.infer_batch_size)
    reconstruction, metrics = evaluate(object_patches)
    metrics = add_val_losses(metrics, history.epochs)
    metrics.update(fit_references(test["diffraction"][..., 0], test["Y_I"][..., 0], test["Y_phi"][..., 0], probe))
    correlations = patch_correlations(object_patches, test["Y_I"][..., 0], probe)
    verdict, verdict_fields = classify(history.as_dict(), metrics, reconstruction,
                                       twin=twin_evidence(*correlations), loss_mode=config.train.loss_mode)
    timings["evaluate_s"] = time.perf_counter() - clock

    clock = time.perf_counter()
    folder.write_json("history.json", history.as_dict())
    folder.write_json("metrics.json", {key: finite_or_none(value) for key, value in metrics.items()})
    folder.save_model(model)
    folder.save_reconstruction(reconstruction, truth, correlations)
    save_reconstruction_png(folder / "recon.png", reconstruction[0], truth[0],
                            f"{config.arm_name} depth {config.depth} seed {config.seed}: {verdict.label}"
                            f" (amp SSIM {metrics['amp_ssim']:.3f}, floor {metrics['collapse_floor']:.3f})")
    timings["write_s"] = time.perf_counter() - clock

    return {
        **_identity(config),
        **verdict_fields,
        "n_epochs": len(history.epochs),
        "stop_reason": history.stop_reason,
        **history.grad_norm_summary(),
        "params": params,
        "environment": run_environment(config.device, config.train.bf16_autocast),
        "resumed": resume is not None,
        "timings": {**timings, **(checkpointer.summary() if checkpointer is not None else {})},
    }


def _start_folder(config: RunConfig, folder: RunFolder) -> None:
    """An empty run folder holding this run's config.json (a previous attempt's artifacts removed)."""
    folder.path.mkdir(parents=True, exist_ok=True)
    folder.clear()
    folder.write_json("config.json", {**config.as_dict(), "config_hash": config.config_hash})


def adopt_run(config: RunConfig, source: RunFolder, folder: RunFolder, stats: dict) -> dict:
    """Record a finished run of the same configuration as this study's run: artifacts linked (or
    copied), config.json and stats.json rewritten with this study's identity, stats.json last."""
    _start_folder(config, folder)
    for name in ARTIFACTS:
        if name not in ("stats.json", "config.json") and (source / name).is_file():
            place_file(source / name, folder / name)
    stats = {**stats, **_identity(config), "reused_from": str(source.path)}
    folder.write_json("stats.json", stats)
    return stats


def _checkpoint_to_resume(config: RunConfig, folder: RunFolder, rerun: bool,
                          progress: Callable[[str], None] | None) -> dict | None:
    """The folder's checkpoint of this configuration, if any. One of another configuration or an
    unreadable one is discarded, saying so; one of a newer format raises CheckpointRefused (not ours to delete)."""
    path = folder / CHECKPOINT_NAME
    if rerun:
        path.unlink(missing_ok=True)
        return None
    try:
        return read_checkpoint(path, config.config_hash)
    except CheckpointRefused as exc:
        if not exc.start_over:
            raise
        if progress is not None:
            progress(f"checkpoint {exc}: not used; starting over")
        path.unlink(missing_ok=True)
        return None


def execute_run(config: RunConfig, folder: str | Path, *, rerun: bool = False, cache_dir=None,
                progress: Callable[[str], None] | None = None, reuse_candidates: Iterable[str | Path] = (),
                checkpoints: CheckpointPolicy = CheckpointPolicy()) -> dict:
    """Train and classify one run into `folder`, or reuse finished stats with the same config hash:
    the folder's own, else those of a candidate folder (the same run recorded by another study,
    e.g. the shootout's control arm at the crash depth), whose artifacts are then placed here.

    A crashed run is a result; OOM and infeasible configurations are recorded as such. Only a
    broken harness raises, or a stop request (RunInterrupted, after a checkpoint was written): a
    checkpoint of the same configuration is resumed from, unless `rerun`.
    """
    folder = RunFolder(folder)
    if not rerun:
        if (stats := folder.finished_stats(config.config_hash)) is not None:
            return {**refreshed_stats(folder, stats), "reused": True, "run_dir": str(folder.path)}
        for candidate in map(RunFolder, reuse_candidates):
            if candidate.path.resolve() == folder.path.resolve():
                continue
            if (stats := candidate.finished_stats(config.config_hash)) is not None:
                stats = adopt_run(config, candidate, folder, refreshed_stats(candidate, stats, write=False))
                if progress is not None:
                    progress(f"same configuration already trained in {candidate.path}: recorded here, not retrained")
                return {**stats, "reused": True, "run_dir": str(folder.path)}
    resume = _checkpoint_to_resume(config, folder, rerun, progress)
    _start_folder(config, folder)
    checkpointer = Checkpointer(folder.path, config.config_hash, checkpoints)
    started = time.perf_counter()
    try:
        make_plan(config.architecture, depth=config.depth, width=config.width, modes=config.modes,
                  max_hidden_channels=config.max_hidden_channels, n=config.data.N)
    except InfeasibleModel as exc:
        stats = _unfinished(config, "infeasible", str(exc), time.perf_counter() - started)
    else:
        try:
            stats = train_and_evaluate(config, folder, cache_dir=cache_dir, progress=progress,
                                       checkpointer=checkpointer, resume=resume)
        except Exception as exc:
            if not is_out_of_memory(exc):
                raise
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            stats = _unfinished(config, "oom", f"{type(exc).__name__}: {exc}".strip()[:500], time.perf_counter() - started)
    stats["wall_s"] = time.perf_counter() - started
    folder.write_json("stats.json", stats)
    checkpointer.finish()
    return {**stats, "reused": False, "run_dir": str(folder.path)}
