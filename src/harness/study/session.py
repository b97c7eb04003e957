"""What a pytest session of the studies needs: options, cases, device per worker, the crash depth."""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UsageError
from ..settings import MAX_DEPTH, NUMBERS, STUDY_PROFILE, check_device, check_folder, check_number, int_list, name_list
from .definitions import CRASH_HUNT, SHOOTOUT, Studies, load_studies, run_config_for, variant
from .design import DESIGN_OPTIONS, Design, make_design
from .records import StudyCase


@dataclass
class StudyOptions:
    profile: str = STUDY_PROFILE
    depths: list[int] | None = None
    seeds: list[int] | None = None
    n_seeds: int | None = None
    arms: list[str] | None = None
    crash_depth: int | None = None
    epochs: int | None = None
    runs_dir: Path = Path("runs")
    reports_dir: Path = Path("reports")
    rerun: bool = False
    device: str = "auto"
    cache_dir: Path | None = None
    count_unfinished_as_crash: bool = False
    threads_per_run: int = 1
    group_size: int | None = None
    hunt_arm: str | None = None
    probes: list[str] | None = None              # --probe-source disk,fzp: every arm once per probe preset
    fail_on: list[str] = field(default_factory=list)   # --fail-on crashy,worse: decisions that fail the session
    design: dict = field(default_factory=dict)   # the design options given (see study/design.py)

    @classmethod
    def from_pytest(cls, config) -> "StudyOptions":
        """The options, every value checked (UsageError naming the pytest option): before any test runs."""
        from ..profiles import load_profile

        option = config.getoption
        load_profile(option("--profile"), flag="--profile")
        arms = name_list(option("--arms"), "--arms")
        numbers = {"--n-seeds": NUMBERS["--n-seeds"][:2], "--crash-depth": (1, MAX_DEPTH), "--epochs": NUMBERS["--torch-epochs"][:2],
                   "--threads-per-run": NUMBERS["--threads"][:2], "--group-size": NUMBERS["--group-size"][:2]}
        for name, (low, high) in numbers.items():
            if option(name) is not None:
                check_number(name, option(name), low, high, int)
        if option("--device") != "auto":
            check_device(option("--device"))
        design = {name: option(name) for name in DESIGN_OPTIONS}
        make_design({}, design, "")  # every design option checked now, the fixture's keys with the session
        return cls(
            profile=option("--profile"),
            depths=int_list(option("--depths"), "--depths", 1, MAX_DEPTH),
            seeds=int_list(option("--seeds"), "--seeds", *NUMBERS["--seed"][:2]),
            n_seeds=option("--n-seeds"),
            arms=arms,
            crash_depth=option("--crash-depth"),
            epochs=option("--epochs"),
            runs_dir=check_folder("--runs-dir", option("--runs-dir")),
            reports_dir=check_folder("--reports-dir", option("--reports-dir")),
            rerun=option("--rerun"),
            device=option("--device"),
            cache_dir=check_folder("--cache-dir", option("--cache-dir")) if option("--cache-dir") is not None else None,
            count_unfinished_as_crash=option("--count-unfinished-as-crash"),
            threads_per_run=option("--threads-per-run"),
            group_size=option("--group-size"),
            hunt_arm=option("--hunt-arm"),
            probes=_probes(option("--probe-source")),
            fail_on=_gates(option("--fail-on")),
            design=design,
        )


def _probes(text: str | None) -> list[str] | None:
    """'disk,fzp' → ["disk", "fzp"], each a known preset (UsageError naming --probe-source)."""
    from ..physics.probe_presets import preset

    names = name_list(text, "--probe-source", "the arms' own probe")
    for name in names or []:
        preset(name)
    return names


def _gates(text: str | None) -> list[str]:
    """'crashy,worse' → ["crashy", "worse"], each a known gate (UsageError naming --fail-on)."""
    from .gate import GATES

    names = name_list(text, "--fail-on", "no gate") or []
    for name in names:
        if name not in GATES:
            raise UsageError("--fail-on", name, f"unknown gate (choose from {', '.join(GATES)})")
    return names


def xdist_worker_index() -> int | None:
    """This process's pytest-xdist worker number (gw3 → 3), None in the controller or without xdist."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return None if worker is None else int(worker.removeprefix("gw") or 0)


def worker_placement(device: str, cpu_threads: int) -> tuple[str, int | None]:
    """(device, torch threads) for this process: one GPU per pytest-xdist worker where several exist.

    CPU runs use a fixed thread count whatever the number of workers: float reductions depend on
    the thread count, so a fixed count keeps every run's result independent of how pytest
    scheduled it (serial or `-n K` give the same verdicts). Spread runs over cores with `-n`.
    """
    import torch

    from ..environment import resolve_device

    resolved = resolve_device(device)
    if resolved == "cpu":
        return resolved, cpu_threads
    worker = xdist_worker_index()
    if worker is not None and resolved == "cuda" and torch.cuda.device_count() > 1:
        return f"cuda:{worker % torch.cuda.device_count()}", None
    return resolved, None


def _run_progress(log, label: str):
    """A run's lines: its progress.log (tail -f it) and, with `pytest -s`, the terminal."""
    from ..progress import Progress

    def write(line: str) -> None:
        print(line, file=log, flush=True)
        print(f"[{label}] {line}", file=sys.stderr, flush=True)

    return Progress(write)  # epoch lines, and a step line every tenth of an epoch


@dataclass
class StudySession:
    options: StudyOptions
    studies: Studies = field(default_factory=load_studies)
    _retrained: set = field(default_factory=set)
    design: Design = field(init=False)

    def __post_init__(self):
        if self.options.arms and len(self.options.arms) == 1 and self.options.arms[0] in self.studies.arm_sets:
            self.options.arms = list(self.studies.arm_sets[self.options.arms[0]])   # a named set of arms
        known = f"known: {', '.join(self.studies.arms)}; sets: {', '.join(self.studies.arm_sets) or 'none'}"
        for arm in self.options.arms or []:
            if arm not in self.studies.arms:
                raise UsageError("--arms", arm, f"unknown arm ({known})")
        if self.options.hunt_arm is not None and self.options.hunt_arm not in self.studies.arms:
            raise UsageError("--hunt-arm", self.options.hunt_arm, f"unknown arm (known: {', '.join(self.studies.arms)})")
        self.hunt_arm = self.options.hunt_arm or self.studies.crash_hunt_arm
        self.design = make_design(self.studies.design_table, self.options.design, f"{self.studies.source} [design]")
        self.started = time.time()

    def check_configurations(self) -> None:
        """Every run the selected studies could train, configured once (UsageError for a bad fixture value
        or option): a bad setting is refused before any test runs, never met as a crash."""
        from ..fsutil import ensure_writable_dirs

        depth = (self.options.depths or self.studies.crash_hunt["depths"])[0]
        for study in (CRASH_HUNT, SHOOTOUT):
            for case in self.cases(study):
                run_config_for(self.studies, study=study, arm=case.arm, depth=case.depth or depth, seed=case.seed,
                               profile=self.options.profile, epochs=self.options.epochs, device="cpu",
                               threads=self.options.threads_per_run)
        ensure_writable_dirs([(folder, option) for option, folder in (
            ("--runs-dir", self.options.runs_dir), ("--reports-dir", self.options.reports_dir),
            ("--cache-dir", self.options.cache_dir)) if folder is not None])

    def seeds(self, study: str) -> list[int]:
        return self.studies.planned_seeds(study, self.design, self.options.seeds, self.options.n_seeds)

    def cases(self, study: str) -> list[StudyCase]:
        """The crash hunt deepest first (the longest runs start first, so pytest-xdist workers finish
        together); the shootout's arms at a depth decided when its tests run. A sequential design goes batch
        by batch, so that each batch can decide before the next starts, and within a batch seed by seed across
        the depths (or arms): the workers then train different cells at once, and a cell that one more run
        decides is not given several runs in parallel that its decision would leave unused."""
        seeds = self.seeds(study)
        batch = self.design.batch if self.design.sequential else len(seeds)
        batches = [seeds[start:start + batch] for start in range(0, len(seeds), batch)]
        if study == CRASH_HUNT:
            depths = sorted(self.options.depths or self.studies.crash_hunt["depths"], reverse=True)
            arms = [variant(self.hunt_arm, probe) for probe in self.options.probes or [None]]
            cells = [(arm, depth) for arm in arms for depth in depths]
        else:
            cells = [(arm, None) for arm in self.shootout_arms()]
        if self.design.sequential:
            return [StudyCase(study, arm, depth, seed) for part in batches for seed in part for arm, depth in cells]
        return [StudyCase(study, arm, depth, seed) for part in batches for arm, depth in cells for seed in part]

    def shootout_arms(self) -> list[str]:
        """The shootout's arms, as variants of the one probe when --probe-source names one."""
        probe = (self.options.probes or [None])[0]
        return [variant(arm, probe) for arm in self.options.arms or self.studies.shootout["arms"]]

    @property
    def control(self) -> str:
        from .aggregate import CONTROL_ARM

        return variant(CONTROL_ARM, (self.options.probes or [None])[0])

    def group_size(self) -> int:
        """Seeds per group at collection time: the option, else all of them on a GPU and 1 on a CPU (the run
        decides the final size on a GPU from the free memory; see run/grouping.py)."""
        from ..environment import resolve_device
        from ..run.grouping import CPU_GROUP_SIZE

        if self.options.group_size:
            return self.options.group_size
        if not resolve_device(self.options.device).startswith("cuda"):
            return CPU_GROUP_SIZE
        return self.design.batch if self.design.sequential else max(len(self.seeds(CRASH_HUNT)),
                                                                    len(self.seeds(SHOOTOUT)))

    def group_name(self, case: StudyCase) -> str | None:
        """The xdist group of a test: the seeds trained together stay on one worker (None: trained alone)."""
        size = self.group_size()
        if size <= 1:
            return None
        return f"{case.study}-{case.arm}-depth{case.depth}-part{self.seeds(case.study).index(case.seed) // size}"

    def run(self, case: StudyCase, label: str):
        """Train (or reuse) one study run and return its RunRecord; progress goes to the terminal.

        The run trains in a group with the other seeds of its configuration (seed-batched, when the group
        size allows); the first test of a group trains all of it, the others find their runs finished.
        """
        from ..run.execute import execute_group
        from ..run.grouping import make_groups
        from ..train.interrupt import RunInterrupted, stop_request

        if stop_request.requested:  # a stop arrived between two runs: start no new one
            raise RunInterrupted(f"{stop_request.reason} before this run started")
        device, threads = worker_placement(self.options.device, self.options.threads_per_run)
        configs = [self._config(case, member, device, threads) for member in self._batch_of(case)]
        group = next(g for g in make_groups(configs, self.options.group_size) if any(c.seed == case.seed for c in g))
        folders = [config.default_folder(self.options.runs_dir) for config in group]
        labels = [label.replace(f"seed{case.seed}", f"seed{config.seed}") for config in group]
        with ExitStack() as logs:
            progress = []
            for folder, member_label in zip(folders, labels):
                folder.mkdir(parents=True, exist_ok=True)
                progress.append(_run_progress(logs.enter_context(open(folder / "progress.log", "a")), member_label))
            # The same run may already be recorded by another study or arm (the shootout's control
            # arm repeats the crash hunt's runs at the crash depth); the config hash decides.
            candidates = [sorted(Path(self.options.runs_dir).glob(f"*/*/{folder.name}")) for folder in folders]
            # --rerun retrains a group once per session: its later tests find it retrained
            rerun = self.options.rerun and not all(str(folder) in self._retrained for folder in folders)
            results = execute_group(group, folders, rerun=rerun, cache_dir=self.options.cache_dir, progress=progress,
                                    step_progress=progress[0].step, reuse_candidates=candidates)
        self._retrained.update(str(folder) for folder in folders)
        return results[[config.seed for config in group].index(case.seed)]

    def _config(self, case: StudyCase, seed: int, device: str = "cpu", threads: int | None = None):
        return run_config_for(self.studies, study=case.study, arm=case.arm, depth=case.depth, seed=seed,
                              profile=self.options.profile, epochs=self.options.epochs, device=device, threads=threads)

    def _batch_of(self, case: StudyCase) -> list[int]:
        """The seeds that may train with this case's: its batch (sequential), else all of the plan."""
        seeds = self.seeds(case.study)
        if not self.design.sequential:
            return seeds
        start = seeds.index(case.seed) // self.design.batch * self.design.batch
        return seeds[start:start + self.design.batch]

    def finished_records(self, case: StudyCase) -> list:
        """The finished records of this case's cell (its depth, or at the shootout's depth every arm) read
        from the run folders, each checked against its configuration's hash. With --rerun, only records this
        session wrote count."""
        from ..run import RunFolder

        arms = [case.arm] if case.study == CRASH_HUNT else self.shootout_arms()
        records = []
        for arm in arms:
            for seed in self.seeds(case.study):
                config = self._config(dataclasses.replace(case, arm=arm), seed)
                folder = RunFolder(config.default_folder(self.options.runs_dir))
                record = folder.finished_record(config.config_hash)
                if record is None or (self.options.rerun and (folder / "stats.json").stat().st_mtime < self.started):
                    continue
                records.append(record)
        return records

    def skip_reason(self, case: StudyCase) -> str | None:
        """Why this case need not train: its depth or comparison was decided from runs before its seed (a
        sequential design only). Decisions come from the finished run folders, so they hold across pytest-xdist
        workers, shards and interrupted sessions."""
        from .decisions import depth_decision, outcomes_in_plan, shootout_decisions

        if not self.design.sequential:
            return None
        seeds = self.seeds(case.study)
        position = seeds.index(case.seed)
        records = self.finished_records(case)
        if case.study == CRASH_HUNT:
            decision = depth_decision(case.depth, outcomes_in_plan(records, seeds), self.design)
            if decision.final and position >= decision.seeds_used:
                verb = "ended" if decision.decision == "undecided" else "decided"
                return f"depth {case.depth} {verb} {decision.decision} after {decision.seeds_used} runs: {decision.why}"
            return None
        control = self.control
        by_arm = {arm: [r for r in records if r.arm == arm] for arm in {r.arm for r in records} | {control}}
        results = shootout_decisions(by_arm, seeds, self.design, control)
        relevant = list(results.values()) if case.arm == control else [results[case.arm]] if case.arm in results else []
        if relevant and all(r.final and position >= r.seeds for r in relevant):
            return "; ".join(f"{r.arm} vs {control} {'ended' if r.decision == 'undecided' else 'decided'} "
                             f"{r.decision} at look {r.look} ({r.seeds} seeds): {r.why}" for r in relevant)
        return None

    def shootout_depth(self) -> "ShootoutDepth":
        """Where the shootout runs, and why: --crash-depth, else the crash hunt's crash depth (its summary, else its
        finished run folders), else — no depth decided crashy — the deepest depth decided stable at which every
        shootout arm can be built; else a clear error (LookupError)."""
        from .aggregate import crash_hunt_summary
        from .records import records_from_runs_dir
        from .report import load_summary

        if self.options.crash_depth is not None:
            return ShootoutDepth(self.options.crash_depth, f"--crash-depth {self.options.crash_depth}")
        summary = load_summary(self.options.reports_dir, CRASH_HUNT)
        source = f"{self.options.reports_dir}/crash_hunt_summary.json"
        if summary is not None and "design" not in summary:  # written before the studies decided: not a decision
            summary = None
        if summary is None:
            wanted = {(case.depth, case.seed) for case in self.cases(CRASH_HUNT)}
            records = [r for r in records_from_runs_dir(self.options.runs_dir)
                       if r.study == CRASH_HUNT and (r.depth, r.seed) in wanted]
            summary = crash_hunt_summary(records, design=self.design, seeds=self.seeds(CRASH_HUNT))
            source = f"the crash hunt runs in {self.options.runs_dir}"
            depths = {depth for depth, _ in wanted}
            if {d["depth"] for d in summary["depths"]} != depths or any(
                    d["decision"]["decision"] == "pending" for d in summary["depths"]):
                summary = None
        if summary is None:
            raise LookupError("no crash depth for the shootout: run `pytest -m crashhunt` first "
                              "(or pass --crash-depth D)")
        if summary["crash_depth"] is not None:
            return ShootoutDepth(summary["crash_depth"], f"the crash hunt's crash depth ({source})")
        stable = sorted((d["depth"] for d in summary["depths"] if d["decision"]["decision"] == "stable"), reverse=True)
        passed_over = []
        for depth in stable:
            unbuildable = self.unbuildable_arms(depth)
            if not unbuildable:
                return ShootoutDepth(depth, f"the crash hunt ({source}) decided no depth crashy; depth {depth} is the "
                                            "deepest it decided stable at which every arm can be built"
                                     + "".join(passed_over))
            passed_over.append(f" (depth {depth} was passed over: {'; '.join(unbuildable)})")
        raise LookupError(f"the crash hunt ({source}) decided no depth crashy ({'; '.join(summary['decisions'])}) and "
                          "none stable at which every arm can be built; pass --crash-depth D to run the shootout at a "
                          "depth of your choice")

    def unbuildable_arms(self, depth: int) -> list[str]:
        """The shootout arms that cannot be built at this depth, each with its reason."""
        from ..models import InfeasibleModel, check_plan

        reasons = []
        for arm in self.shootout_arms():
            seed = self.seeds(SHOOTOUT)[0]
            config = self._config(StudyCase(SHOOTOUT, arm, depth, seed), seed)
            try:
                check_plan(config.model)
            except InfeasibleModel as exc:
                reasons.append(f"{arm}: {exc}")
        return reasons


@dataclass(frozen=True)
class ShootoutDepth:
    depth: int
    why: str
