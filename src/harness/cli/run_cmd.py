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
    amp_ssim = "n/a" if record.amp_ssim is None else f"{record.amp_ssim:.3f}"
    return (f"{head}: {record.label}{reused}  amp_ssim {amp_ssim} (floor {record.collapse_floor:.3f})"
            f"  best val {record.best_val_loss}  {record.wall_s:.1f} s  [{where}]"
            + (f"\n  {record.explanation}" if record.explanation else ""))


def profile_line(config) -> str:
    """What the run will train on, before anything else: the profile decides data size and epochs."""
    data = config.data
    return (f"profile {config.profile}: {data.n_train_patches} training and {data.n_test_patches} test patches of "
            f"{data.N}×{data.N}, {config.train.epochs} epochs, {config.architecture} depth {config.depth}, "
            f"seed {config.seed}, device {config.device}")


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
    return 0
