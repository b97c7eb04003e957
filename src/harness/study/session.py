"""One process's part of a study session: the plan, the ledger, and the runs this process launches."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from ..environment import resolve_device
from ..errors import UsageError
from ..fsutil import ensure_writable_dirs
from ..run.grouping import make_groups
from ..run.launch import Launch, launch_group, worker_placement
from ..run.record import RunRecord
from ..train.interrupt import RunInterrupted, stop_request
from .definitions import CRASH_HUNT, SHOOTOUT, Studies, load_studies
from .ledger import Ledger, ShootoutDepth
from .options import StudyOptions
from .plan import StudyPlan
from .records import StudyCase


class StudySession:
    """What the study tests ask of their session: whether a case is decided, where the shootout runs, and
    a case's run trained (or reused). `worker` is this process's pytest-xdist worker number (None outside)."""

    def __init__(self, options: StudyOptions, studies: Studies | None = None, worker: int | None = None):
        self.options = options
        self.plan = StudyPlan.of(options, studies or load_studies(), on_gpu=resolve_device(options.device) != "cpu")
        self.ledger = Ledger(self.plan, started=time.time())
        self.worker = worker
        self._retrained: set[Path] = set()

    def check(self, studies: list[str]) -> None:
        """Whether this session can run these studies, before any test runs (UsageError saying why not): every
        planned run configured, the shootout's depth known unless the crash hunt of this session decides it, no
        finished run of another configuration in a planned folder, the folders writable."""
        probes = self.options.probes or []
        if SHOOTOUT in studies and len(probes) > 1:
            raise UsageError("--probe-source", ",".join(probes),
                             "the shootout compares arms under one probe: run it once per probe")
        self.plan.check_configurations()
        if SHOOTOUT in studies and CRASH_HUNT not in studies:
            try:
                self.shootout_depth()
            except LookupError as exc:
                raise UsageError("--crash-depth", "(not given)", str(exc)) from None
        self.ledger.check_folders(studies)
        ensure_writable_dirs(self.options.folders)

    def skip_reason(self, case: StudyCase) -> str | None:
        return self.ledger.skip_reason(case)

    def shootout_depth(self) -> ShootoutDepth:
        return self.ledger.shootout_depth()

    def run(self, case: StudyCase, label: str) -> RunRecord:
        """Train (or reuse) one study run and return its record; progress goes to its progress.log and stderr.

        The run trains in a group with the other seeds of its configuration (seed-batched, when the group
        size allows); the first test of a group trains all of it, the others find their runs finished.
        """
        if stop_request.requested:  # a stop arrived between two runs: start no new one
            raise RunInterrupted(f"{stop_request.reason} before this run started")
        device, threads = worker_placement(self.options.device, self.options.threads_per_run, self.worker)
        configs = [self.plan.config(case, seed, device, threads) for seed in self.plan.batch_of(case)]
        group = next(g for g in make_groups(configs, self.options.group_size) if any(c.seed == case.seed for c in g))
        folders = [config.default_folder(self.options.runs_dir) for config in group]
        # The same run may already be recorded by another study or arm (the shootout's control arm repeats the
        # crash hunt's runs at the crash depth); the config hash decides.
        candidates = [sorted(self.options.runs_dir.glob(f"*/*/{folder.name}")) for folder in folders]
        # --rerun retrains a group once per session: its later tests find it retrained
        launch = Launch(rerun=self.options.rerun and not self._retrained.issuperset(folders),
                        cache_dir=self.options.cache_dir, logger=self.options.logger)
        say = [_say(label.replace(f"seed{case.seed}", f"seed{config.seed}")) for config in group]
        records = launch_group(group, folders, launch, say, reuse_candidates=candidates)
        self._retrained.update(folders)
        return records[[config.seed for config in group].index(case.seed)]


def _say(label: str):
    """A run's lines on the terminal (with `pytest -s`), named by its test."""
    return lambda line: print(f"[{label}] {line}", file=sys.stderr, flush=True)
