"""One run end to end: simulate → cache → train → evaluate → verdict → record (SPEC §5–§7)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
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
from ..models.members import member_state_dict, stack_members
from ..train import TrainingData, seeded
from ..train.fit import fit_group
from ..train.checkpoint import CHECKPOINT_NAME, CheckpointPolicy, Checkpointer, CheckpointRefused, read_checkpoint
from .classify import CLASSIFIED, add_val_losses, classify, finite_or_none, outcome_label
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


@dataclass
class EvaluationData:
    """The dataset of a run (or a group: they share it) on the training device, and its evaluation."""

    config: RunConfig
    dataset: object
    data: TrainingData
    probe: np.ndarray        # the normalised probe

    @classmethod
    def load(cls, config: RunConfig, cache_dir=None) -> "EvaluationData":
        dataset = get_dataset(config.data, cache_dir)
        return cls(config, dataset, TrainingData.from_dataset(dataset, config.device),
                   normalize_probe(np.asarray(dataset.test["probeGuess"])))

    @property
    def truth(self) -> np.ndarray:
        return self.dataset.test["YY_ground_truth"][..., 0]

    def evaluate(self, object_patches: np.ndarray) -> tuple[np.ndarray, dict]:
        test, data = self.dataset.test, self.config.data
        reconstruction = stitch_reconstructions(object_patches, float(test["norm_Y_I"]), data.object_size,
                                                data.test_stride)
        return reconstruction, mean_reconstruction_metrics(reconstruction, self.truth)

    def amp_ssim(self, object_patches: np.ndarray) -> dict:
        return {"amp_ssim": self.evaluate(object_patches)[1]["amp_ssim"]}


def _build(config: RunConfig) -> torch.nn.Module:
    return build_generator(config.architecture, depth=config.depth, width=config.width, modes=config.modes,
                           max_hidden_channels=config.max_hidden_channels, n=config.data.N)


def train_and_evaluate(configs: list[RunConfig], folders: list[RunFolder], *, cache_dir=None,
                       progress: list | None = None, checkpointers: list | None = None,
                       resumes: list[dict | None] | None = None, step_progress: Callable | None = None) -> list[dict]:
    """Train the runs of one group (configurations that differ only in their seed) together and record
    each in its folder; one configuration is a single run. Each member starts from the weights its
    single run would get (built under its own seed) and is recorded exactly as a single run is."""
    members = len(configs)
    lead = configs[0]
    progress = progress or [None] * members
    resumes = resumes or [None] * members
    clock = time.perf_counter()
    evaluation = EvaluationData.load(lead, cache_dir)
    data_s = time.perf_counter() - clock

    clock = time.perf_counter()
    seeds = [config.seed for config in configs]
    with seeded(lead.seed):
        # each member starts from its single run's initial weights
        if members == 1:
            singles = [_build(lead)]
        else:
            singles = []
            for config in configs:
                with seeded(config.seed):
                    singles.append(_build(config))
        params = sum(p.numel() for p in singles[0].parameters())
        for config, folder, say, resume in zip(configs, folders, progress, resumes):
            if say is None:
                continue
            together = f" (trained together with seeds {', '.join(map(str, seeds))})" if members > 1 else ""
            say(f"{config.arm_name} depth {config.depth} seed {config.seed}: {params:,} parameters, "
                f"{evaluation.data.train_x.shape[0]} training patches, {config.train.epochs} epochs on "
                f"{config.device}{together}")
            if resume is not None:
                epoch, batches_done = resume["position"]
                say(f"resuming from {folder / CHECKPOINT_NAME}: epoch {epoch + 1}, after {batches_done} steps of it "
                    f"({resume['history']['steps_done']} steps done)")
        model = singles[0] if members == 1 else stack_members(build_generator(
            lead.architecture, depth=lead.depth, width=lead.width, modes=lead.modes,
            max_hidden_channels=lead.max_hidden_channels, n=lead.data.N, members=members), singles)
        model = model.to(lead.device)
        histories = fit_group(model, evaluation.data, lead.train, seeds, device=lead.device, root_dir=folders[0].path,
                              threads=lead.threads, progress=progress,
                              epoch_evaluators=[evaluation.amp_ssim] * members, checkpointers=checkpointers,
                              resume=None if all(r is None for r in resumes) else resumes, on_step=step_progress)
    train_s = time.perf_counter() - clock

    results = []
    for member, (config, folder, history) in enumerate(zip(configs, folders, histories)):
        if members > 1:
            singles[member].load_state_dict(member_state_dict(model, member, members))
        checkpointer = checkpointers[member] if checkpointers else None
        timings = {"data_s": data_s, "train_s": train_s,
                   **(checkpointer.summary() if checkpointer is not None else {})}
        stats = _record(config, folder, evaluation, singles[member].to(config.device), history, timings)
        stats.update(params=params, resumed=resumes[member] is not None,
                     group={"seeds": seeds, "members": members} if members > 1 else None)
        results.append(stats)
    return results


def _record(config: RunConfig, folder: RunFolder, evaluation: EvaluationData, model: torch.nn.Module,
            history, timings: dict) -> dict:
    """evaluate → verdict → record: one trained run's folder files and stats."""
    clock = time.perf_counter()
    test, probe = evaluation.dataset.test, evaluation.probe
    # The last validation pass already predicted the test split with the final weights.
    object_patches = history.last_object_patches
    if object_patches is None:
        object_patches = predict_patches(model, evaluation.data.test_x, config.train.infer_batch_size)
    reconstruction, metrics = evaluation.evaluate(object_patches)
    metrics = add_val_losses(metrics, history.epochs)
    metrics.update(fit_references(test["diffraction"][..., 0], test["Y_I"][..., 0], test["Y_phi"][..., 0], probe))
    correlations = patch_correlations(object_patches, test["Y_I"][..., 0], probe)
    verdict, verdict_fields = classify(history.as_dict(), metrics, reconstruction,
                                       twin=twin_evidence(*correlations), loss_mode=config.train.loss_mode)
    timings["evaluate_s"] = time.perf_counter() - clock

    clock = time.perf_counter()
    truth = evaluation.truth
    folder.write_json("history.json", history.as_dict())
    folder.write_json("metrics.json", {key: finite_or_none(value) for key, value in metrics.items()})
    folder.save_model(model)
    folder.save_reconstruction(reconstruction, truth, correlations)
    save_reconstruction_png(folder / "recon.png", reconstruction[0], truth[0],
                            f"{config.arm_name} depth {config.depth} seed {config.seed}: {outcome_label(verdict_fields)}"
                            f" (amp SSIM {metrics['amp_ssim']:.3f}, floor {metrics['collapse_floor']:.3f})")
    timings["write_s"] = time.perf_counter() - clock
    return {
        **_identity(config),
        **verdict_fields,
        "n_epochs": len(history.epochs),
        "stop_reason": history.stop_reason,
        **history.grad_norm_summary(),
        "environment": run_environment(config.device, config.train.bf16_autocast),
        "timings": timings,
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


def group_key(config: RunConfig) -> str:
    """What must be equal for runs to train together: everything but the seed (and where they run)."""
    fields = config.hashed_fields()
    fields["train"] = {key: value for key, value in fields["train"].items() if key != "seed"}
    return json.dumps(fields, sort_keys=True)


def shareable(config: RunConfig) -> bool:
    """Whether a run can be one member of a group: ReduceLROnPlateau follows each run's own validation
    loss, so such runs train singly (a group shares one schedule)."""
    return config.train.scheduler != "ReduceLROnPlateau"


def _reused(config: RunConfig, folder: RunFolder, reuse_candidates, progress) -> dict | None:
    """Finished stats with this config hash: the folder's own, else a candidate folder's (adopted here)."""
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
    return None


def execute_run(config: RunConfig, folder: str | Path, *, rerun: bool = False, cache_dir=None,
                progress: Callable[[str], None] | None = None, reuse_candidates: Iterable[str | Path] = (),
                checkpoints: CheckpointPolicy = CheckpointPolicy(), step_progress: Callable | None = None) -> dict:
    """Train and classify one run into `folder`, or reuse finished stats with the same config hash:
    the folder's own, else those of a candidate folder (the same run recorded by another study,
    e.g. the shootout's control arm at the crash depth), whose artifacts are then placed here.

    A crashed run is a result; OOM and infeasible configurations are recorded as such. Only a
    broken harness raises, or a stop request (RunInterrupted, after a checkpoint was written): a
    checkpoint of the same configuration is resumed from, unless `rerun`. progress(line) gets the
    run's lines, step_progress(epoch, epochs, done, per_epoch, loss) every training step.
    """
    (stats,) = execute_group([config], [folder], rerun=rerun, cache_dir=cache_dir, progress=[progress],
                             reuse_candidates=[reuse_candidates], checkpoints=checkpoints, step_progress=step_progress)
    return stats


def execute_group(configs: list[RunConfig], folders: list[str | Path], *, rerun: bool = False, cache_dir=None,
                  progress: list | None = None, reuse_candidates: list | None = None,
                  checkpoints: CheckpointPolicy = CheckpointPolicy(), step_progress: Callable | None = None) -> list[dict]:
    """execute_run for runs that differ only in their seed, trained together (seed-batched): finished runs
    are reused, the others train as one stacked model — members whose checkpoints stand at the same
    position resume together, the rest start together — and each is recorded in its own folder as its
    single run would be. Returns one stats dict per configuration, in order."""
    members = len(configs)
    if len({group_key(config) for config in configs}) != 1:
        raise ValueError("a group holds runs that differ only in their seed")
    if members > 1 and not shareable(configs[0]):
        raise ValueError(f"{configs[0].train.scheduler} follows each run's own loss: such runs train singly")
    folders = [RunFolder(folder) for folder in folders]
    progress = progress or [None] * members
    reuse_candidates = reuse_candidates or [()] * members
    results: list[dict | None] = [None] * members
    if not rerun:
        for index, (config, folder) in enumerate(zip(configs, folders)):
            results[index] = _reused(config, folder, reuse_candidates[index], progress[index])
    pending = [index for index in range(members) if results[index] is None]
    resumes = {index: _checkpoint_to_resume(configs[index], folders[index], rerun, progress[index]) for index in pending}
    # members at the same checkpoint position train together; those without a checkpoint form one more group
    positions: dict = {}
    for index in pending:
        position = None if resumes[index] is None else tuple(resumes[index]["position"])
        positions.setdefault(position, []).append(index)
    for indices in positions.values():
        for index, stats in zip(indices, _train_group([configs[i] for i in indices], [folders[i] for i in indices],
                                                       cache_dir=cache_dir, progress=[progress[i] for i in indices],
                                                       resumes=[resumes[i] for i in indices], checkpoints=checkpoints,
                                                       step_progress=step_progress)):
            results[index] = stats
    return results


def _train_group(configs: list[RunConfig], folders: list[RunFolder], *, cache_dir, progress, resumes,
                 checkpoints: CheckpointPolicy, step_progress) -> list[dict]:
    for config, folder in zip(configs, folders):
        _start_folder(config, folder)
    checkpointers = [Checkpointer(folder.path, config.config_hash, checkpoints) for config, folder in zip(configs, folders)]
    lead = configs[0]
    started = time.perf_counter()
    try:
        make_plan(lead.architecture, depth=lead.depth, width=lead.width, modes=lead.modes,
                  max_hidden_channels=lead.max_hidden_channels, n=lead.data.N)
    except InfeasibleModel as exc:
        all_stats = [_unfinished(config, "infeasible", str(exc), time.perf_counter() - started) for config in configs]
    else:
        try:
            all_stats = train_and_evaluate(configs, folders, cache_dir=cache_dir, progress=progress,
                                           checkpointers=checkpointers, resumes=resumes, step_progress=step_progress)
        except Exception as exc:
            if not is_out_of_memory(exc):
                raise
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            if len(configs) > 1:  # the group did not fit, which says nothing of one run: train them singly
                return [stats for config, folder, say, resume in zip(configs, folders, progress, resumes)
                        for stats in _train_group([config], [folder], cache_dir=cache_dir, progress=[say],
                                                  resumes=[resume], checkpoints=checkpoints,
                                                  step_progress=step_progress)]
            message = f"{type(exc).__name__}: {exc}".strip()[:500]
            all_stats = [_unfinished(configs[0], "oom", message, time.perf_counter() - started)]
    results = []
    for stats, folder, checkpointer in zip(all_stats, folders, checkpointers):
        stats["wall_s"] = time.perf_counter() - started
        folder.write_json("stats.json", stats)
        checkpointer.finish()
        results.append({**stats, "reused": False, "run_dir": str(folder.path)})
    return results
