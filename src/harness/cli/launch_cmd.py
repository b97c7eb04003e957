"""`harness launch`: a study fanned out through submitit — a Slurm job array of shards (one depth or arm each),
requeued from their checkpoints when preempted, or the same shards as local processes without Slurm — then the
shards merged into one set of reports, as `harness report` merges them."""

from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path

from ..errors import UsageError
from ..settings import name_list

EXECUTORS = ("auto", "local", "slurm")


def add_parser(subparsers, name: str) -> None:
    parser = subparsers.add_parser(name, help="run a study's shards through submitit (Slurm or local), then merge")
    parser.add_argument("study", choices=("crashhunt", "shootout"), help="the study to run")
    parser.add_argument("--items", default=None, help="one shard each: depths for the crash hunt (default 4,6,8), arms "
                        "for the shootout (default control,layerscale,agc,adamw)")
    parser.add_argument("--crash-depth", type=int, default=None, help="the shootout's depth (required for it)")
    parser.add_argument("--executor", default="auto", help="auto (Slurm where sbatch exists, else local) | local | "
                        "slurm")
    parser.add_argument("--launch-dir", default=None, metavar="DIR",
                        help="shards' runs, reports and submitit logs (default runs/launch/<study>-<time>)")
    parser.add_argument("--reports-dir", default=None, metavar="DIR",
                        help="the merged reports (default reports/launch/<tag>; never the committed reports/)")
    parser.add_argument("--project-dir", default=".", metavar="DIR", help="where the study tests are (default .)")
    parser.add_argument("--timeout-min", type=int, default=240, help="per shard, for Slurm (default 240)")
    parser.add_argument("--gpus-per-task", type=int, default=None, help="Slurm GPUs per shard (default 0)")
    parser.add_argument("--cpus-per-task", type=int, default=2, help="Slurm CPUs per shard (default 2)")
    parser.add_argument("--partition", default=None, help="Slurm partition (default the cluster's)")
    parser.add_argument("--pytest-args", default="", help="more options for every shard's pytest, e.g. "
                        "\"--profile paper --n-seeds 10\"")


def _items(args: argparse.Namespace) -> list[str]:
    default = "4,6,8" if args.study == "crashhunt" else "control,layerscale,agc,adamw"
    items = name_list(args.items or default, "--items") or []
    if args.study == "shootout" and args.crash_depth is None:
        raise UsageError("--crash-depth", "(none)", "the shootout needs the depth its arms are compared at")
    return items


def _executor(args: argparse.Namespace, folder: Path):
    if args.executor not in EXECUTORS:
        raise UsageError("--executor", args.executor, f"unknown executor (known: {' | '.join(EXECUTORS)})")
    if importlib.util.find_spec("submitit") is None:
        raise UsageError("--executor", args.executor, "needs submitit: pip install -e .[cluster]")
    import submitit

    cluster = None if args.executor == "auto" else args.executor
    if cluster == "slurm" and submitit.SlurmExecutor.affinity() <= 0:
        raise UsageError("--executor", args.executor, "no Slurm on this machine (srun not found)")
    executor = submitit.AutoExecutor(folder=str(folder / "submitit"), cluster=cluster)
    executor.update_parameters(timeout_min=args.timeout_min, cpus_per_task=args.cpus_per_task,
                               gpus_per_node=args.gpus_per_task or 0, slurm_partition=args.partition,
                               slurm_signal_delay_s=120, name=f"harness-{args.study}")
    return executor


def run(args: argparse.Namespace) -> int:
    import shlex

    from ..study.launcher import merge_of, shard_commands, submit_shards

    items = _items(args)
    tag = f"{args.study}-{time.strftime('%Y%m%d-%H%M%S')}"
    folder = Path(args.launch_dir or Path("runs") / "launch" / tag).resolve()
    reports = Path(args.reports_dir or Path("reports") / "launch" / tag).resolve()
    executor = _executor(args, folder)
    pytest_args = shlex.split(args.pytest_args)
    shards = shard_commands(args.study, items, folder, args.crash_depth, pytest_args, Path(args.project_dir).resolve())
    merge = merge_of(shards, reports, pytest_args)
    print(f"harness launch: {len(shards)} shard(s) of the {args.study} through submitit ({executor.cluster}): "
          f"{', '.join(items)}; logs under {folder / 'submitit'}")
    launched = submit_shards(shards, merge, executor)
    if launched.merge_job is not None:
        print(f"harness launch: shards are jobs {', '.join(job.job_id for job in launched.shard_jobs)}; the merge, job "
              f"{launched.merge_job.job_id}, runs once they all ended and writes {reports}")
        return 0
    for shard, job in zip(shards, launched.shard_jobs):
        print(f"harness launch: shard {shard.name} ended with status {job.result()}")
    try:
        return merge()
    except RuntimeError as exc:
        raise UsageError("--items", ",".join(items), str(exc)) from None
