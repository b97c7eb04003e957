"""A study fanned out through submitit: one array task per shard (a crash hunt's depth, a shootout's arm), each a
pytest session of the study writing its own runs folder, then the shards merged as `harness report` merges them:
on Slurm by a job that depends on the whole array (`afterany`), without Slurm by this process once they end.

A shard is `Checkpointable`: when the scheduler preempts it or its time runs out, submitit calls `checkpoint`,
which asks the session to stop (SIGTERM: the running runs finish their step and write a checkpoint, the session
exits 75) and resubmits the same shard, which resumes those runs. Without Slurm, submitit's local executor runs
the shards as processes on this machine.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import submitit

from ..train.interrupt import REQUEUE_EXIT_STATUS
from .design import DESIGN_OPTIONS, add_design_options

_RUNNING: dict[str, subprocess.Popen] = {}   # the shard's session in this job process (a Popen does not pickle)


@dataclass
class Shard(submitit.helpers.Checkpointable):
    """One pytest session of the study: its selection, its folders, the project it runs in."""

    name: str
    command: list[str]
    project: str
    env: dict[str, str] = field(default_factory=dict)

    def __call__(self) -> int:
        # Slurm signals every process of the job (USR2 before the time limit): the session ignores it and is
        # stopped by checkpoint()'s SIGTERM instead, which it answers by checkpointing its runs
        process = subprocess.Popen(self.command, cwd=self.project, env={**os.environ, **self.env},
                                   preexec_fn=_ignore_submitit_signal)
        _RUNNING[self.name] = process
        status = process.wait()
        if status not in (0, 1, REQUEUE_EXIT_STATUS):   # 1: the session ran and some test failed (a gate)
            raise RuntimeError(f"shard {self.name}: pytest exited {status}")
        return status

    def checkpoint(self, *args, **kwargs) -> submitit.helpers.DelayedSubmission:
        """Called in submitit's signal handler, which interrupted `process.wait()` above: Popen's own poll and
        wait would wait for that interrupted wait's lock forever, so the session is signalled and reaped by pid."""
        process = _RUNNING.get(self.name)
        if process is not None and process.returncode is None:
            try:
                os.kill(process.pid, signal.SIGTERM)   # its runs checkpoint and the session exits 75
                os.waitpid(process.pid, 0)
            except (ProcessLookupError, ChildProcessError):   # already ended and reaped
                pass
        return submitit.helpers.DelayedSubmission(self)


def _ignore_submitit_signal() -> None:
    signal.signal(signal.SIGUSR2, signal.SIG_IGN)


def shard_commands(study: str, items: list[str], root: Path, crash_depth: int | None, extra: list[str],
                   project: Path) -> list[Shard]:
    """One shard per item: a depth of the crash hunt, an arm of the shootout, in `root`/shard<i>."""
    shards = []
    for index, item in enumerate(items):
        folder = root / f"shard{index}"
        selection = ["--depths", item] if study == "crashhunt" else ["--arms", item, "--crash-depth", str(crash_depth)]
        command = [sys.executable, "-m", "pytest", "-m", study, *selection, f"--runs-dir={folder / 'runs'}",
                   f"--reports-dir={folder / 'reports'}", "-p", "no:cacheprovider", *extra]
        shards.append(Shard(f"{study}-{item}", command, str(project)))
    return shards


@dataclass
class Merge:
    """The shards' runs folders merged into one set of reports by `harness report` (deciding with the design the
    shards decided with), run in the project as the shards are, as its own job or from the launcher."""

    runs_dirs: list[str]
    reports_dir: str
    project: str
    deciding: list[str] = field(default_factory=list)

    def __call__(self) -> int:
        present = [folder for folder in self.runs_dirs if Path(folder).is_dir()]
        if not present:
            raise RuntimeError(f"no shard wrote a runs folder ({', '.join(self.runs_dirs)})")
        command = [sys.executable, "-m", "harness.cli.main", "report",
                   *[arg for folder in present for arg in ("--runs-dir", folder)], "--reports-dir", self.reports_dir,
                   *self.deciding]
        return subprocess.run(command, cwd=self.project).returncode


def merge_of(shards: list[Shard], reports_dir: Path, pytest_args: list[str]) -> Merge:
    return Merge([shard_runs_dir(shard) for shard in shards], str(reports_dir), shards[0].project,
                 deciding_options(pytest_args))


def deciding_options(pytest_args: list[str]) -> list[str]:
    """The shards' options that decide rather than train (the design, the seeds planned, counting unfinished
    runs as crashes), as `harness report` takes them, so that the merge decides as each shard did."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    add_design_options(parser.add_argument)
    parser.add_argument("--seeds", default=None)
    parser.add_argument("--count-unfinished-as-crash", action="store_true")
    given = vars(parser.parse_known_args(pytest_args)[0])
    options = [[option, str(given[option[2:].replace("-", "_")])] for option in [*DESIGN_OPTIONS, "--seeds"]
               if given[option[2:].replace("-", "_")] is not None]
    return [arg for pair in options for arg in pair] + (["--count-unfinished-as-crash"]
                                                        if given["count_unfinished_as_crash"] else [])


def shard_runs_dir(shard: Shard) -> str:
    return next(arg.split("=", 1)[1] for arg in shard.command if arg.startswith("--runs-dir="))


def after_the_array(jobs) -> str:
    """Slurm's dependency of the merge: every shard ended, however (a failed shard's finished runs still count),
    requeues included (a requeued task keeps its job id)."""
    return "afterany:" + ":".join(dict.fromkeys(job.job_id.split("_")[0] for job in jobs))


@dataclass
class Launched:
    shard_jobs: list[submitit.Job]
    merge_job: submitit.Job | None    # the dependent merge job on Slurm; None where this process merges


def submit_shards(shards: list[Shard], merge: Merge, executor: submitit.AutoExecutor) -> Launched:
    """The shards as one job array (each its own checkpointable callable); on Slurm, the merge as a job after it."""
    with executor.batch():
        jobs = [executor.submit(shard) for shard in shards]
    if executor.cluster != "slurm":
        return Launched(jobs, None)
    executor.update_parameters(slurm_dependency=after_the_array(jobs), name="harness-merge", cpus_per_task=1,
                               gpus_per_node=0, timeout_min=60)
    return Launched(jobs, executor.submit(merge))
