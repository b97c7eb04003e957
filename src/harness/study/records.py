"""Run records of a study: from a test's user property, a pytest-json-report file, or run folders on disk.

Each study test is one StudyCase; its id (`depth6-seed20260129` in the crash hunt, `layerscale-seed20260128`
in the shootout) is written and read here only. A test that ended without a record (a harness error, a
worker that died) becomes an `error` record of its case: an infrastructure error, never a crash.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from ..run.record import ERROR, Identity, RunRecord
from .definitions import CRASH_HUNT, SHOOTOUT, STUDIES, VARIANT, split_variant, variant

RECORD_PROPERTY = "stability_record"
_CASE_ID = re.compile(r"test_(?P<study>crash_hunt|shootout)\[(?P<cell>.+)-seed(?P<seed>\d+)\]")


@dataclass(frozen=True)
class StudyCase:
    """One cell of a study: the crash hunt's cells are depths of one arm, the shootout's arms at one depth
    (None until the crash depth is known)."""

    study: str
    arm: str
    depth: int | None
    seed: int

    @property
    def test_id(self) -> str:
        """`depth6-seed20260129` (with the probe of an arm variant: `depth6@fzp-seed20260129`),
        `layerscale-seed20260128` (`layerscale@fzp-seed20260128`)."""
        if self.study != CRASH_HUNT:
            return f"{self.arm}-seed{self.seed}"
        probe = split_variant(self.arm)[1]
        return f"depth{self.depth}{'' if probe is None else VARIANT + probe}-seed{self.seed}"

    @classmethod
    def from_nodeid(cls, nodeid: str, crash_hunt_arm: str) -> "StudyCase | None":
        if (match := _CASE_ID.search(nodeid)) is None:
            return None
        seed = int(match["seed"])
        if match["study"] == CRASH_HUNT:
            depth, probe = split_variant(match["cell"].removeprefix("depth"))
            arm = variant(split_variant(crash_hunt_arm)[0], probe)
            return cls(CRASH_HUNT, arm, int(depth), seed) if depth.isdigit() else None
        return cls(SHOOTOUT, match["cell"], None, seed)


def error_record(case: StudyCase, message: str) -> RunRecord:
    return RunRecord.untrained(Identity(case.study, case.arm, None, case.depth, case.seed), ERROR, message[:500])


def records_from_json_report(path: str | Path, crash_hunt_arm: str) -> list[RunRecord]:
    """Records from a pytest-json-report file: each study test's record, or an error record."""
    report = json.loads(Path(path).read_text())
    records = []
    for test in report.get("tests", []):
        found = [prop[RECORD_PROPERTY] for prop in test.get("user_properties", []) if RECORD_PROPERTY in prop]
        if test.get("outcome") in ("failed", "error"):
            if (case := StudyCase.from_nodeid(test["nodeid"], crash_hunt_arm)) is not None:
                records.append(error_record(case, _failure_text(test)))
        elif found:
            records.append(RunRecord.from_json(found[-1]))
    return records


def _failure_text(test: dict) -> str:
    for stage in ("call", "setup", "teardown"):
        if test.get(stage, {}).get("longrepr"):
            return str(test[stage]["longrepr"]).strip().splitlines()[-1]
    return "failed without a record"


def records_from_runs_dir(runs_dir: str | Path) -> list[RunRecord]:
    """Records of every finished run folder (stats.json) under runs_dir/<study>/<arm>/<run>/, with the
    verdict re-derived (in memory) where an older version of the rules decided it."""
    from ..run import RunFolder
    from ..run.recording import refreshed_record

    records = []
    for stats_path in sorted(Path(runs_dir).glob("*/*/*/stats.json")):
        folder = RunFolder(stats_path.parent)
        if (record := folder.finished_record()) is not None and record.study in STUDIES:
            records.append(refreshed_record(folder, record, write=False))
    return records
