"""One run end to end: simulate → cache → train → evaluate → verdict → record.

The orchestration only: reuse (reuse.py) → train the rest as seed groups (train/) → record each run
(recording.py). A crashed run is a result; OOM and infeasible configurations are recorded as such.
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from pathlib import Path
from typing import Callable, Iterable

import torch

from ..environment import is_out_of_memory
from ..evaluate.run_evaluation import RunEvaluation
from ..models import InfeasibleModel, build_generator, check_plan
from ..models.members import member_state_dict, stack_members
from ..train import seeded
from ..train.checkpoint import CHECKPOINT_NAME, Checkpointer, CheckpointPolicy
from ..train.member import Member
from ..train.trainer import fit_group
from .config import RunConfig
from .folder import RunFolder
from .grouping import group_key, shareable
from .record import RunRecord
from .recording import record_trained_run, start_folder, untrained_record
from .reuse import FolderHoldsAnotherRun, another_run_in, checkpoint_to_resume, reused_record


def train_and_evaluate(configs: list[RunConfig], folders: list[RunFolder], *, cache_dir=None,
                       progress: list | None = None, checkpointers: list | None = None,
                       resumes: list[dict | None] | None = None, step_progress: Callable | None = None) -> list[RunRecord]:
    """Train the runs of one group (configurations that differ only in their seed) together and record
    each in its folder; one configuration is a single run. Each member starts from the weights its
    single run would get (built under its own seed) and is recorded exactly as a single run is."""
    count = len(configs)
    lead = configs[0]
    progress = progress or [None] * count
    resumes = resumes or [None] * count
    checkpointers = checkpointers or [None] * count
    clock = time.perf_counter()
    evaluation = RunEvaluation.load(lead, cache_dir)
    data_s = time.perf_counter() - clock

    clock = time.perf_counter()
    seeds = [config.seed for config in configs]
    with seeded(lead.seed):
        # each member starts from its single run's initial weights
        if count == 1:
            singles = [build_generator(lead.model)]
        else:
            singles = []
            for config in configs:
                with seeded(config.seed):
                    singles.append(build_generator(config.model))
        params = sum(p.numel() for p in singles[0].parameters())
        for config, folder, say, resume in zip(configs, folders, progress, resumes):
            if say is None:
                continue
            together = f" (trained together with seeds {', '.join(map(str, seeds))})" if count > 1 else ""
            say(f"{config.arm_name} depth {config.depth} seed {config.seed}: {params:,} parameters, "
                f"{evaluation.data.train_x.shape[0]} training patches, {config.train.epochs} epochs on "
                f"{config.device}{together}")
            if resume is not None:
                epoch, batches_done = resume["position"]
                say(f"resuming from {folder / CHECKPOINT_NAME}: epoch {epoch + 1}, after {batches_done} steps of it "
                    f"({resume['history']['steps_done']} steps done)")
        model = singles[0] if count == 1 else stack_members(build_generator(lead.model, members=count), singles)
        model = model.to(lead.device)
        members = [Member(seed=seed, progress=say, epoch_evaluator=evaluation.amp_ssim, checkpointer=checkpointer,
                          resume=resume)
                   for seed, say, checkpointer, resume in zip(seeds, progress, checkpointers, resumes)]
        histories = fit_group(model, evaluation.data, lead.train, members, device=lead.device,
                              root_dir=folders[0].path, threads=lead.threads, on_step=step_progress)
    train_s = time.perf_counter() - clock

    records = []
    for index, (config, folder, history, checkpointer) in enumerate(zip(configs, folders, histories, checkpointers)):
        if count > 1:
            singles[index].load_state_dict(member_state_dict(model, index, count))
        timings = {"data_s": data_s, "train_s": train_s,
                   **(checkpointer.summary() if checkpointer is not None else {})}
        records.append(record_trained_run(config, folder, evaluation, singles[index].to(config.device), history,
                                          timings, params=params, resumed=resumes[index] is not None,
                                          group={"seeds": seeds, "members": count} if count > 1 else None))
    return records


def execute_run(config: RunConfig, folder: str | Path, *, rerun: bool = False, cache_dir=None,
                progress: Callable[[str], None] | None = None, reuse_candidates: Iterable[str | Path] = (),
                checkpoints: CheckpointPolicy = CheckpointPolicy(), step_progress: Callable | None = None) -> RunRecord:
    """Train and classify one run into `folder`, or reuse a finished record with the same config hash:
    the folder's own, else that of a candidate folder (the same run recorded by another study, e.g.
    the shootout's control arm at the crash depth), whose artifacts are then placed here.

    Only a broken harness raises, or a stop request (RunInterrupted, after a checkpoint was written): a
    checkpoint of the same configuration is resumed from, unless `rerun`. progress(line) gets the
    run's lines, step_progress(epoch, epochs, done, per_epoch, loss) every training step.
    """
    (record,) = execute_group([config], [folder], rerun=rerun, cache_dir=cache_dir, progress=[progress],
                              reuse_candidates=[reuse_candidates], checkpoints=checkpoints, step_progress=step_progress)
    return record


def execute_group(configs: list[RunConfig], folders: list[str | Path], *, rerun: bool = False, cache_dir=None,
                  progress: list | None = None, reuse_candidates: list | None = None,
                  checkpoints: CheckpointPolicy = CheckpointPolicy(),
                  step_progress: Callable | None = None) -> list[RunRecord]:
    """execute_run for runs that differ only in their seed, trained together (seed-batched): finished runs
    are reused, the others train as one stacked model — members whose checkpoints stand at the same
    position resume together, the rest start together — and each is recorded in its own folder as its
    single run would be. Returns one record per configuration, in order."""
    count = len(configs)
    if len({group_key(config) for config in configs}) != 1:
        raise ValueError("a group holds runs that differ only in their seed")
    if count > 1 and not shareable(configs[0]):
        raise ValueError(f"{configs[0].train.scheduler} follows each run's own loss: such runs train singly")
    run_folders = [RunFolder(folder) for folder in folders]
    progress = progress or [None] * count
    reuse_candidates = reuse_candidates or [()] * count
    with ExitStack() as held:  # one process per run folder: a second waits, then finds the run finished
        for index in sorted(range(count), key=lambda i: str(run_folders[i].path)):
            held.enter_context(run_folders[index].lock(progress[index]))
            if (stale := run_folders[index].remove_temporaries()) and progress[index] is not None:
                progress[index](f"removed {len(stale)} temporary file(s) of an interrupted write: {', '.join(stale)}")
        return _reuse_or_train(configs, run_folders, rerun=rerun, cache_dir=cache_dir, progress=progress,
                               reuse_candidates=reuse_candidates, checkpoints=checkpoints, step_progress=step_progress)


def _reuse_or_train(configs: list[RunConfig], folders: list[RunFolder], *, rerun, cache_dir, progress,
                    reuse_candidates, checkpoints, step_progress) -> list[RunRecord]:
    count = len(configs)
    results: list[RunRecord | None] = [None] * count
    if not rerun:  # a finished run of another configuration is never replaced without --rerun
        for config, folder in zip(configs, folders):
            if (reason := another_run_in(config, folder)) is not None:
                raise FolderHoldsAnotherRun(f"{folder.path} {reason}")
        for index, (config, folder) in enumerate(zip(configs, folders)):
            results[index] = reused_record(config, folder, reuse_candidates[index], progress[index])
    pending = [index for index in range(count) if results[index] is None]
    resumes = {index: checkpoint_to_resume(configs[index], folders[index], rerun, progress[index]) for index in pending}
    # members at the same checkpoint position train together; those without a checkpoint form one more group
    positions: dict = {}
    for index in pending:
        resume = resumes[index]
        positions.setdefault(None if resume is None else tuple(resume["position"]), []).append(index)
    for indices in positions.values():
        for index, record in zip(indices, _train_group([configs[i] for i in indices], [folders[i] for i in indices],
                                                        cache_dir=cache_dir, progress=[progress[i] for i in indices],
                                                        resumes=[resumes[i] for i in indices], checkpoints=checkpoints,
                                                        step_progress=step_progress)):
            results[index] = record
    finished = [record for record in results if record is not None]
    assert len(finished) == count, "every run of a group is reused or trained"
    return finished


def _train_group(configs: list[RunConfig], folders: list[RunFolder], *, cache_dir, progress, resumes,
                 checkpoints: CheckpointPolicy, step_progress) -> list[RunRecord]:
    for config, folder in zip(configs, folders):
        start_folder(config, folder)
    checkpointers = [Checkpointer(folder.path, config.config_hash, checkpoints) for config, folder in zip(configs, folders)]
    started = time.perf_counter()
    try:
        check_plan(configs[0].model, members=len(configs))
    except InfeasibleModel as exc:
        records = [untrained_record(config, "infeasible", str(exc), time.perf_counter() - started) for config in configs]
    else:
        try:
            records = train_and_evaluate(configs, folders, cache_dir=cache_dir, progress=progress,
                                         checkpointers=checkpointers, resumes=resumes, step_progress=step_progress)
        except Exception as exc:
            if not is_out_of_memory(exc):
                raise
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            if len(configs) > 1:  # the group did not fit, which says nothing of one run: train them singly
                return [record for config, folder, say, resume in zip(configs, folders, progress, resumes)
                        for record in _train_group([config], [folder], cache_dir=cache_dir, progress=[say],
                                                   resumes=[resume], checkpoints=checkpoints,
                                                   step_progress=step_progress)]
            message = f"{type(exc).__name__}: {exc}".strip()[:500]
            records = [untrained_record(configs[0], "oom", message, time.perf_counter() - started)]
    finished = []
    for record, folder, checkpointer in zip(records, folders, checkpointers):
        record = record.replace(wall_s=time.perf_counter() - started, reused=False, run_dir=str(folder.path))
        folder.write_record(record)
        checkpointer.finish()
        finished.append(record)
    return finished
