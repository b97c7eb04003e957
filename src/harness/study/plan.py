"""What a study session will run: its seeds, its cases in the order they start, which seeds train together
(pytest-xdist groups) and each case's configuration. Pure: the options and the study definitions in, no
files read or written, no pytest needed."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UsageError
from ..run.config import RunConfig
from ..run.grouping import CPU_GROUP_SIZE
from .definitions import CONTROL_ARM, CRASH_HUNT, SHOOTOUT, Studies, run_config_for, variant
from .design import Design, make_design
from .options import StudyOptions
from .records import StudyCase


@dataclass(frozen=True)
class StudyPlan:
    options: StudyOptions
    studies: Studies
    design: Design
    arms: tuple[str, ...]      # the shootout's arms (a named set of arms resolved)
    hunt_arm: str              # the arm whose depths the crash hunt sweeps
    on_gpu: bool = False       # whether the runs go to a GPU (where the seeds of a configuration train together)

    @classmethod
    def of(cls, options: StudyOptions, studies: Studies, on_gpu: bool = False) -> "StudyPlan":
        """The plan of these options (UsageError naming --arms or --hunt-arm for an arm the fixture lacks, or
        --seeds / --n-seeds for more seeds than the sequential design's budget)."""
        arms = shootout_arms(options.arms, studies)
        if options.hunt_arm is not None and options.hunt_arm not in studies.arms:
            raise UsageError("--hunt-arm", options.hunt_arm, f"unknown arm (known: {', '.join(studies.arms)})")
        design = make_design(studies.design_table, options.design, f"{studies.source} [design]")
        plan = cls(options, studies, design, tuple(arms), options.hunt_arm or studies.crash_hunt_arm, on_gpu)
        for study in (CRASH_HUNT, SHOOTOUT):   # seeds the design cannot take are refused now, not dropped later
            plan.seeds(study)
        return plan

    def seeds(self, study: str) -> list[int]:
        return self.studies.planned_seeds(study, self.design, self.options.seeds, self.options.n_seeds)

    @property
    def depths(self) -> list[int]:
        return list(self.options.depths or self.studies.crash_hunt["depths"])

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
            arms = [variant(self.hunt_arm, probe) for probe in self.probes]
            depths = sorted(self.depths, reverse=True)
            cells: list[tuple[str, int | None]] = [(arm, depth) for arm in arms for depth in depths]
        else:
            cells = [(arm, None) for arm in self.shootout_arms()]
        if self.design.sequential:
            return [StudyCase(study, arm, depth, seed) for part in batches for seed in part for arm, depth in cells]
        return [StudyCase(study, arm, depth, seed) for part in batches for arm, depth in cells for seed in part]

    def case_of(self, nodeid: str) -> StudyCase | None:
        """The case a study test's node id names (`…::test_crash_hunt[depth6-seed3]`), None for any other test."""
        name, _, test_id = nodeid.rpartition("::")[2].partition("[")
        study = name.removeprefix("test_")
        if study not in (CRASH_HUNT, SHOOTOUT):
            return None
        return {case.test_id: case for case in self.cases(study)}.get(test_id.removesuffix("]"))

    @property
    def probes(self) -> list[str | None]:
        """The probe presets every arm runs under (--probe-source), or the arms' own probe (None)."""
        return [None] if not self.options.probes else [*self.options.probes]

    def shootout_arms(self) -> list[str]:
        """The shootout's arms, as variants of the one probe when --probe-source names one."""
        return [variant(arm, self.probes[0]) for arm in self.arms]

    @property
    def control(self) -> str:
        return variant(CONTROL_ARM, self.probes[0])

    def config(self, case: StudyCase, seed: int | None = None, device: str = "cpu",
               threads: int | None = None) -> RunConfig:
        """The configuration of this case's run (of another seed of its cell, given one)."""
        if case.depth is None:
            raise ValueError(f"{case.test_id}: the shootout's depth is not known yet")
        return run_config_for(self.studies, study=case.study, arm=case.arm, depth=case.depth,
                              seed=case.seed if seed is None else seed, profile=self.options.profile,
                              epochs=self.options.epochs, device=device, threads=threads,
                              data_files=self.data_files)

    @property
    def data_files(self) -> dict[str, str]:
        """The measured dataset the options put every run on (none: the arms' own data)."""
        files = {"data-npz": self.options.data_npz, "test-data-npz": self.options.test_data_npz}
        return {key: path for key, path in files.items() if path is not None}

    def check_configurations(self) -> None:
        """Every run the studies could train, configured once (UsageError for a bad fixture value or option): a
        bad setting is refused before any test runs, never met as a crash."""
        for study in (CRASH_HUNT, SHOOTOUT):
            for case in self.cases(study):
                self.config(StudyCase(case.study, case.arm, case.depth or self.depths[0], case.seed),
                            threads=self.options.threads_per_run)

    def batch_of(self, case: StudyCase) -> list[int]:
        """The seeds that may train with this case's: its batch (sequential), else all of the plan."""
        seeds = self.seeds(case.study)
        if not self.design.sequential:
            return seeds
        start = seeds.index(case.seed) // self.design.batch * self.design.batch
        return seeds[start:start + self.design.batch]

    def group_size(self) -> int:
        """Seeds per group at collection time: the option, else all of them on a GPU and 1 on a CPU (the run
        decides the final size on a GPU from the free memory; see run/grouping.py)."""
        if self.options.group_size:
            return self.options.group_size
        if not self.on_gpu:
            return CPU_GROUP_SIZE
        return self.design.batch if self.design.sequential else max(len(self.seeds(CRASH_HUNT)),
                                                                    len(self.seeds(SHOOTOUT)))

    def group_name(self, case: StudyCase) -> str | None:
        """The xdist group of a test: the seeds trained together stay on one worker (None: trained alone)."""
        size = self.group_size()
        if size <= 1:
            return None
        return f"{case.study}-{case.arm}-depth{case.depth}-part{self.seeds(case.study).index(case.seed) // size}"


def shootout_arms(given: list[str] | None, studies: Studies) -> list[str]:
    """The shootout's arms: those given (one name may be a set of arms), else the fixture's; UsageError naming
    --arms for an arm the fixture lacks."""
    arms = list(given or studies.shootout["arms"])
    if len(arms) == 1 and arms[0] in studies.arm_sets:
        arms = list(studies.arm_sets[arms[0]])   # a named set of arms
    known = f"known: {', '.join(studies.arms)}; sets: {', '.join(studies.arm_sets) or 'none'}"
    for arm in arms:
        if arm not in studies.arms:
            raise UsageError("--arms", arm, f"unknown arm ({known})")
    return arms
