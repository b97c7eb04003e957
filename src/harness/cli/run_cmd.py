"""`harness run`: one training run per architecture, with the original wrapper's flags; prints the verdict."""

from __future__ import annotations

import argparse
import sys

from ..errors import UsageError
from ..fsutil import ensure_writable_dirs
from ..models import InfeasibleModel, architecture, check_plan
from ..progress import Progress
from ..run.configure import checkpoint_policy, run_configs
from ..run.folder import RunFolder
from ..run.grouping import make_groups
from ..run.launch import Launch, launch_group
from ..run.reuse import another_run_in
from ..run.tracking import check_tracker
from ..settings import add_flags
from ..study.agreement import with_agreement
from ..train.interrupt import REQUEUE_EXIT_STATUS, RunInterrupted, stop_request
from .run_args import run_folders


def add_parser(subparsers, name: str) -> None:
    parser = subparsers.add_parser(name, help="train and classify one run (per architecture)")
    add_flags(parser)


def verdict_line(record) -> str:
    where = record.run_dir
    reused = " (reused)" if record.reused else ""
    head = f"{record.arm} depth {record.depth} seed {record.seed}"
    if record.outcome in ("oom", "infeasible"):
        return f"{head}: {record.outcome}{reused} — {record.message}  [{where}]"
    if record.amp_ssim is not None and record.collapse_floor is not None:
        scores = f"amp_ssim {record.amp_ssim:.3f} (floor {record.collapse_floor:.3f})"
    else:  # measured data: no truth to score against, the fit against the data's own references
        scores = "fit error " + ("n/a" if record.fit_error is None else f"{record.fit_error:.4f}") + (
            f" (constant object {record.fit_constant_object:.4f})" if record.fit_constant_object is not None else "")
    return (f"{head}: {record.label}{reused}  {scores}"
            f"  best val {record.best_val_loss}  {record.wall_s:.1f} s  [{where}]"
            + (f"\n  {record.explanation}" if record.explanation else ""))


def profile_line(config) -> str:
    """What the run will train on, before anything else: the profile decides data size and epochs."""
    data = config.data
    patches = (f"the patterns of {data.data_npz} (" + (f"tested on {data.test_data_npz}" if data.test_data_npz else
                                                        f"its last {data.test_fraction:g} of positions in x held out")
               + ")" if data.measured else f"{data.n_train_patches} training and {data.n_test_patches} test patches")
    return (f"profile {config.profile}: {patches} of {data.N}×{data.N}, {config.train.epochs} epochs, "
            f"{config.architecture} depth {config.depth}, seed {config.seed}, device {config.device}")


def _check_user_generators(configs) -> None:
    """A generator named by import path that cannot be built at these settings, or maps to the wrong shape or
    dtype, is bad input here (one line naming the flag, exit 2), before any folder is written; a study records
    such a run `infeasible` instead."""
    for config in configs:
        if architecture(config.model.architecture).user:
            try:
                check_plan(config.model)
            except InfeasibleModel as exc:
                raise UsageError("--architectures", config.model.architecture, str(exc)) from None


def run(args: argparse.Namespace) -> int:
    logger = check_tracker(args.logger)
    configs = run_configs(args)
    _check_user_generators(configs)
    folders = dict(zip(configs, run_folders(args, configs)))
    flag = "--output-dir" if args.output_dir is not None else "--runs-dir"
    if not args.rerun:
        for config, folder in folders.items():
            if (reason := another_run_in(config, RunFolder(folder))) is not None:
                raise UsageError(flag, folder, reason)
    ensure_writable_dirs([*([(args.cache_dir, "--cache-dir")] if args.cache_dir is not None else []),
                          *[(folder, flag) for folder in folders.values()]])
    launch = Launch(rerun=args.rerun, cache_dir=args.cache_dir, checkpoints=checkpoint_policy(args),
                    logger=logger)
    progress = Progress.for_terminal(sys.stderr)  # a step bar on a terminal; flushed lines in a log
    # SIGTERM (a scheduler's preemption) and SIGINT end the run after its current step, with a checkpoint.
    finished = []
    with stop_request.signals_caught():
        for group in make_groups(configs, args.group_size):
            for config in group:
                progress(profile_line(config))
            say = [progress.labelled(f"seed {c.seed}") if len(group) > 1 else progress for c in group]
            try:
                records = launch_group(group, [folders[config] for config in group], launch, say, step=progress.step)
            except RunInterrupted as exc:
                progress(f"harness run: {exc}")
                return REQUEUE_EXIT_STATUS
            for record in records:
                print(verdict_line(record), flush=True)
            finished += records
    for before, after in zip(finished, with_agreement(finished)):
        if after is not before:   # a trained run on measured data, judged against the other seeds of this command
            print(f"{after.arm} depth {after.depth} seed {after.seed} across the seeds: {after.label}\n"
                  f"  {after.explanation}", flush=True)
    return 0
