"""Launching runs, the same for `harness run` and a study's tests: the runs trained together (a group), each in
its folder with its progress.log, executed once; and which device and threads a process's runs get."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import torch

from ..environment import resolve_device
from ..progress import Progress
from ..train.checkpoint import CheckpointPolicy
from .config import RunConfig
from .execute import execute_group
from .record import RunRecord
from .tracking import track_run

Say = Callable[[str], None]


@dataclass(frozen=True)
class Launch:
    """How runs are launched, handed whole to launch_group."""

    rerun: bool = False                     # retrain even where a finished run (or a checkpoint) exists
    cache_dir: Path | None = None           # the dataset cache (None: the default)
    checkpoints: CheckpointPolicy = field(default_factory=CheckpointPolicy)
    logger: str = "csv"                     # the experiment tracker each trained run is logged to (tracking.py)


def launch_group(group: Sequence[RunConfig], folders: Sequence[Path], launch: Launch, say: Sequence[Say], *,
                 step: Callable | None = None, reuse_candidates: Sequence[Sequence[Path]] | None = None) -> list[RunRecord]:
    """Train (or reuse) one group of runs that differ only in their seed, each recorded in its folder: every line
    a run says goes to its folder's progress.log (`tail -f` it) and to `say`; `step` gets every training step
    (default: a step line every tenth of an epoch, in the first run's log and its `say`)."""
    with ExitStack() as logs:
        progress = []
        for folder, say_line in zip(folders, say):
            Path(folder).mkdir(parents=True, exist_ok=True)
            log = logs.enter_context(open(Path(folder) / "progress.log", "a"))
            progress.append(Progress(_both(log, say_line)))
        records = execute_group(list(group), list(folders), rerun=launch.rerun, cache_dir=launch.cache_dir,
                                progress=progress, step_progress=step or progress[0].step,
                                reuse_candidates=list(reuse_candidates) if reuse_candidates is not None else None,
                                checkpoints=launch.checkpoints)
    for config, folder, record in zip(group, folders, records):
        if not record.reused:   # a reused run was logged when it trained
            track_run(launch.logger, config, Path(folder), record)
    return records


def _both(log, say: Say) -> Say:
    def write(line: str) -> None:
        print(line, file=log, flush=True)
        say(line)

    return write


def worker_placement(device: str, cpu_threads: int | None, worker: int | None) -> tuple[str, int | None]:
    """(device, torch threads) for the runs of one process: one GPU per pytest-xdist worker (`worker`, its
    number; None outside xdist) where several exist.

    CPU runs use a fixed thread count whatever the number of workers: float reductions depend on
    the thread count, so a fixed count keeps every run's result independent of how pytest
    scheduled it (serial or `-n K` give the same verdicts). Spread runs over cores with `-n`.
    """
    resolved = resolve_device(device)
    if resolved == "cpu":
        return resolved, cpu_threads
    if worker is not None and resolved == "cuda" and torch.cuda.device_count() > 1:
        return f"cuda:{worker % torch.cuda.device_count()}", None
    return resolved, None
