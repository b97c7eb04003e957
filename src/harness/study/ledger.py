"""The run folders as the one record of a study: which runs finished, what they decided, where the shootout
runs. Every record is read from its folder and checked against its configuration's hash, so what the ledger
says holds across pytest-xdist workers, shards and interrupted sessions."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UsageError
from ..models import InfeasibleModel, check_plan
from ..run import RunFolder, RunRecord
from ..run.recording import refreshed_record
from ..run.reuse import another_run_in
from .aggregate import crash_hunt_summary
from .agreement import with_agreement
from .decisions import depth_decision, outcomes_in_plan, shootout_decisions
from .definitions import CRASH_HUNT, SHOOTOUT
from .plan import StudyPlan
from .records import StudyCase, records_from_runs_dir
from .report import load_summary


@dataclass(frozen=True)
class ShootoutDepth:
    depth: int
    why: str


@dataclass
class Ledger:
    plan: StudyPlan
    started: float                      # when the session started: with --rerun, only records since count
    _depth: ShootoutDepth | None = field(default=None, repr=False)

    @property
    def runs_dir(self) -> Path:
        return self.plan.options.runs_dir

    def folder(self, case: StudyCase) -> RunFolder:
        return RunFolder(self.plan.config(case).default_folder(self.runs_dir))

    def record(self, case: StudyCase) -> RunRecord | None:
        """The finished record of this case's run (its verdict re-derived in memory where older rules decided
        it), None when its folder holds none of this configuration (or, with --rerun, none written since the
        session started)."""
        config = self.plan.config(case)
        folder = RunFolder(config.default_folder(self.runs_dir))
        record = folder.finished_record(config.config_hash)
        if record is None or (self.plan.options.rerun and not self.written_in_session(folder)):
            return None
        return refreshed_record(folder, record, write=False)

    def written_in_session(self, folder: RunFolder) -> bool:
        """Whether the folder's record was written since the session started (trained, resumed or adopted
        here; not found finished)."""
        stats = folder / "stats.json"
        return stats.exists() and stats.stat().st_mtime >= self.started

    def finished_records(self, case: StudyCase) -> list[RunRecord]:
        """The finished records of this case's cell: its depth, or at the shootout's depth every arm."""
        arms = [case.arm] if case.study == CRASH_HUNT else self.plan.shootout_arms()
        cells = [dataclasses.replace(case, arm=arm, seed=seed) for arm in arms for seed in self.plan.seeds(case.study)]
        return with_agreement([record for cell in cells if (record := self.record(cell)) is not None])

    def skip_reason(self, case: StudyCase) -> str | None:
        """Why this case need not train: its depth or comparison was decided from runs before its seed (a
        sequential design only)."""
        design = self.plan.design
        if not design.sequential:
            return None
        seeds = self.plan.seeds(case.study)
        position = seeds.index(case.seed)
        records = self.finished_records(case)
        if case.study == CRASH_HUNT:
            assert case.depth is not None   # a crash hunt's cells are depths
            decision = depth_decision(case.depth, outcomes_in_plan(records, seeds), design)
            if decision.final and position >= decision.seeds_used:
                verb = "ended" if decision.decision == "undecided" else "decided"
                return f"depth {case.depth} {verb} {decision.decision} after {decision.seeds_used} runs: {decision.why}"
            return None
        control = self.plan.control
        by_arm = {arm: [r for r in records if r.arm == arm] for arm in {r.arm for r in records} | {control}}
        results = shootout_decisions(by_arm, seeds, design, control)
        relevant = list(results.values()) if case.arm == control else [results[case.arm]] if case.arm in results else []
        if relevant and all(r.final and position >= r.seeds for r in relevant):
            return "; ".join(f"{r.arm} vs {control} {'ended' if r.decision == 'undecided' else 'decided'} "
                             f"{r.decision} at look {r.look} ({r.seeds} seeds): {r.why}" for r in relevant)
        return None

    def check_folders(self, studies: list[str]) -> None:
        """UsageError (naming --runs-dir and --rerun) when a planned run's folder holds a finished run of another
        configuration: a session never replaces one silently. The shootout's folders are checked once its depth
        is known (else each run's launch refuses it)."""
        if self.plan.options.rerun:
            return
        for study in studies:
            for case in self.plan.cases(study):
                if case.depth is None:
                    if self._depth is None:
                        break
                    case = dataclasses.replace(case, depth=self._depth.depth)
                folder = self.folder(case)
                if (reason := another_run_in(self.plan.config(case), folder)) is not None:
                    raise UsageError("--runs-dir", self.runs_dir, f"{folder.path} {reason}")

    def shootout_depth(self) -> ShootoutDepth:
        """Where the shootout runs, and why (found once a session): --crash-depth, else the crash hunt's crash
        depth (its summary, else its finished run folders), else — no depth decided crashy — the deepest depth
        decided stable at which every shootout arm can be built; else a clear error (LookupError)."""
        if self._depth is None:
            self._depth = self._find_shootout_depth()
        return self._depth

    def _find_shootout_depth(self) -> ShootoutDepth:
        options = self.plan.options
        if options.crash_depth is not None:
            return ShootoutDepth(options.crash_depth, f"--crash-depth {options.crash_depth}")
        summary, source = self._crash_hunt_summary()
        if summary is None:
            raise LookupError("no crash depth for the shootout: run `pytest -m crashhunt` first "
                              "(or pass --crash-depth D)")
        if summary["crash_depth"] is not None:
            return ShootoutDepth(summary["crash_depth"], f"the crash hunt's crash depth ({source})")
        stable = sorted((d["depth"] for d in summary["depths"] if d["decision"]["decision"] == "stable"), reverse=True)
        passed_over: list[str] = []
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

    def _crash_hunt_summary(self) -> tuple[dict | None, str]:
        """The crash hunt's decided summary: its reports' (written by a session that decided), else one made
        from its finished run folders when every planned depth is decided; None when neither decides."""
        reports_dir = self.plan.options.reports_dir
        summary = load_summary(reports_dir, CRASH_HUNT)
        if summary is not None and "design" in summary:  # one written before the studies decided is no decision
            return summary, f"{reports_dir}/crash_hunt_summary.json"
        wanted = {(case.depth, case.seed) for case in self.plan.cases(CRASH_HUNT)}
        records = with_agreement([r for r in records_from_runs_dir(self.runs_dir).records
                                  if r.study == CRASH_HUNT and (r.depth, r.seed) in wanted])
        summary = crash_hunt_summary(records, design=self.plan.design, seeds=self.plan.seeds(CRASH_HUNT))
        decided = {d["depth"] for d in summary["depths"]} == {depth for depth, _ in wanted} and all(
            d["decision"]["decision"] != "pending" for d in summary["depths"])
        return (summary if decided else None), f"the crash hunt runs in {self.runs_dir}"

    def unbuildable_arms(self, depth: int) -> list[str]:
        """The shootout arms that cannot be built at this depth, each with its reason."""
        seed = self.plan.seeds(SHOOTOUT)[0]
        reasons = []
        for arm in self.plan.shootout_arms():
            try:
                check_plan(self.plan.config(StudyCase(SHOOTOUT, arm, depth, seed)).model)
            except InfeasibleModel as exc:
                reasons.append(f"{arm}: {exc}")
        return reasons
