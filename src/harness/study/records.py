"""Run records of a study: from run folders on disk, or a pytest-json-report file.

Each study test is one StudyCase; its id is `depth6-seed20260129` in the crash hunt, `layerscale-seed20260128`
in the shootout. A test that ended without a record (a harness error, a worker that died) becomes an `error`
record of its case: an infrastructure error, never a crash.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from ..run.folder import RunFolder
from ..run.record import ERROR, Identity, RunRecord
from ..run.recording import refreshed_record
from .definitions import CRASH_HUNT, STUDIES, VARIANT, split_variant

# The user properties of a study test in a pytest-json-report file: its case, and the record of its run.
CASE_PROPERTY = "stability_case"
RECORD_PROPERTY = "stability_record"


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

    def as_json(self) -> dict:
        return asdict(self)


def error_record(case: StudyCase, message: str) -> RunRecord:
    return RunRecord.untrained(Identity(case.study, case.arm, None, case.depth, case.seed), ERROR, message[:500])


def records_from_json_report(path: str | Path) -> list[RunRecord]:
    """Records from a pytest-json-report file: each study test's record, or an error record of its case."""
    report = json.loads(Path(path).read_text())
    records = []
    for test in report.get("tests", []):
        properties = {name: value for prop in test.get("user_properties", []) for name, value in prop.items()}
        found = [properties[RECORD_PROPERTY]] if RECORD_PROPERTY in properties else []
        if test.get("outcome") in ("failed", "error"):
            if CASE_PROPERTY in properties:
                records.append(error_record(StudyCase(**properties[CASE_PROPERTY]), _failure_text(test)))
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
    records = []
    for stats_path in sorted(Path(runs_dir).glob("*/*/*/stats.json")):
        folder = RunFolder(stats_path.parent)
        if (record := folder.finished_record()) is not None and record.study in STUDIES:
            records.append(refreshed_record(folder, record, write=False))
    return records
