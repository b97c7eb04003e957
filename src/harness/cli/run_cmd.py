"""`harness run`: one training run per architecture, with the original wrapper's flags; prints the verdict."""

from __future__ import annotations

import argparse
import sys

from ..fsutil import ensure_writable_dir
from .run_args import add_run_flags, checkpoint_policy, run_configs, run_folders


def add_parser(subparsers, name: str) -> None:
    parser = subparsers.add_parser(name, help="train and classify one run (per architecture)")
    add_run_flags(parser)


def verdict_line(stats: dict) -> str:
    where = stats["run_dir"]
    reused = " (reused)" if stats.get("reused") else ""
    head = f"{stats['arm']} depth {stats['depth']} seed {stats['seed']}"
    if stats["outcome"] in ("oom", "infeasible"):
        return f"{head}: {stats['outcome']}{reused} — {stats['message']}  [{where}]"
    amp_ssim = "n/a" if stats["amp_ssim"] is None else f"{stats['amp_ssim']:.3f}"
    return (f"{head}: {outcome_label(stats)}{reused}  amp_ssim {amp_ssim} (floor {stats['collapse_floor']:.3f})"
            f"  best val {stats['best_val_loss']}  {stats['wall_s']:.1f} s  [{where}]"
            + (f"\n  {stats['explanation']}" if stats.get("explanation") else ""))


def outcome_label(stats: dict) -> str:
    """`ok`, `inconclusive`, or `crashed (reasons, from epoch k)`."""
    if not stats.get("crashed"):
        return stats["outcome"]
    onset = f", from epoch {stats['onset_epoch']}" if stats.get("onset_epoch") else ""
    return "crashed (" + ", ".join(stats["reasons"]) + onset + ")"


def run(args: argparse.Namespace) -> int:
    from ..run import execute_run
    from ..train.interrupt import REQUEUE_EXIT_STATUS, RunInterrupted, stop_request

    configs = run_configs(args)
    policy = checkpoint_policy(args)
    folders = run_folders(args, configs)
    flag = "--output-dir" if args.output_dir is not None else "--runs-dir"
    for folder in folders:
        ensure_writable_dir(folder, flag)
    progress = lambda line: print(line, file=sys.stderr, flush=True)
    # SIGTERM (a scheduler's preemption) and SIGINT end the run after its current step, with a checkpoint.
    with stop_request.signals_caught():
        for config, folder in zip(configs, folders):
            try:
                stats = execute_run(config, folder, rerun=args.rerun, cache_dir=args.cache_dir, progress=progress,
                                    checkpoints=policy)
            except RunInterrupted as exc:
                print(f"harness run: {exc}", file=sys.stderr, flush=True)
                return REQUEUE_EXIT_STATUS
            print(verdict_line(stats), flush=True)
    return 0
