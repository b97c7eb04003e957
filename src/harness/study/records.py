"""Run records of a study: from run folders on disk, or a pytest-json-report file.

Each study test is one StudyCase; its id is `depth6-seed20260129` in the crash hunt, `layerscale-seed20260128`
in the shootout. A test that ended without a record (a harness error, a worker that died) becomes an `error`
record of its case: an infrastructure error, never a crash.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import UsageError
from ..run.folder import RunFolder
from ..run.record import ERROR, INTERRUPTED, UNRECORDED, BadRecord, Identity, RunRecord
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


# How an interrupted study test's failure reads (one line, no traceback): recorded as an interruption, not an error.
INTERRUPTED_PREFIX = "interrupted: "


def error_record(case: StudyCase, message: str) -> RunRecord:
    """The record of a test that ended without its run's: interrupted by a stop request, else a harness error."""
    outcome = INTERRUPTED if message.startswith(INTERRUPTED_PREFIX) else ERROR
    return RunRecord.untrained(Identity(case.study, case.arm, None, case.depth, case.seed), outcome, message[:500])


def records_from_json_report(path: str | Path) -> FoundRecords:
    """Records from a pytest-json-report file: each study test's record (an invalid one excluded, saying why), or an
    error record of its case."""
    report = json.loads(Path(path).read_text())
    records, excluded = [], []
    for test in report.get("tests", []):
        properties = {name: value for prop in test.get("user_properties", []) for name, value in prop.items()}
        if test.get("outcome") in ("failed", "error"):
            if CASE_PROPERTY in properties:
                records.append(error_record(StudyCase(**properties[CASE_PROPERTY]), _failure_text(test)))
        elif RECORD_PROPERTY in properties:
            try:
                records.append(RunRecord.from_json(properties[RECORD_PROPERTY]))
            except BadRecord as exc:
                excluded.append(f"{path} test {test.get('nodeid')}: its record {exc}")
    return FoundRecords(records, excluded)


def _failure_text(test: dict) -> str:
    for stage in ("call", "setup", "teardown"):
        if test.get(stage, {}).get("longrepr"):
            return str(test[stage]["longrepr"]).strip().splitlines()[-1]
    return "failed without a record"


@dataclass(frozen=True)
class FoundRecords:
    """The records of a runs folder or a JSON report, and each record left out (where it is and why)."""

    records: list[RunRecord]
    excluded: list[str]


def records_from_runs_dir(runs_dir: str | Path) -> FoundRecords:
    """Records of every finished run folder (stats.json) under runs_dir/<study>/<arm>/<run>/, with the
    verdict re-derived (in memory) where an older version of the rules decided it. A record that is invalid, or
    names another study, arm, depth or seed than its folder, is excluded, saying why; folders of no study
    (`harness run`'s adhoc runs) are not study records."""
    records, excluded = [], []
    for stats_path in sorted(Path(runs_dir).glob("*/*/*/stats.json")):
        folder = RunFolder(stats_path.parent)
        try:
            record = folder.read_record()
        except BadRecord as exc:
            excluded.append(str(exc))
            continue
        if stats_path.parts[-4] not in STUDIES and record.study not in STUDIES:
            continue
        if (wrong := misplaced(record, stats_path.parent)) is not None:
            excluded.append(f"{stats_path} {wrong}")
            continue
        records.append(refreshed_record(folder, record, write=False))
    return FoundRecords(records, excluded)


def misplaced(record: RunRecord, folder: Path) -> str | None:
    """Why a record does not belong in its folder <study>/<arm>/depth<d>_seed<s> (None when it does)."""
    expected = (record.study, record.arm, f"depth{record.depth}_seed{record.seed}")
    found = folder.parts[-3:]
    if tuple(found) == expected:
        return None
    return f"is the record of {'/'.join(map(str, expected))}, not of the folder it is in ({'/'.join(found)})"


def merged(sources: list[tuple[str, list[RunRecord]]]) -> list[RunRecord]:
    """The records of several sources (runs folders, JSON reports) as one set: the same run found twice is counted
    once; two different configurations of one study cell and seed are refused (UsageError naming both sources),
    never merged into one P_crash."""
    chosen: dict[tuple, tuple[str, RunRecord]] = {}
    for source, found in sources:
        for record in found:
            key = (record.study, record.arm, record.depth, record.seed)
            if key in chosen:
                first_source, first = chosen[key]
                if record.outcome in UNRECORDED:     # a record of the run outweighs an error of its test
                    continue
                if first.outcome not in UNRECORDED:
                    if first.config_hash != record.config_hash:
                        raise UsageError("--runs-dir/--json-report", f"{first_source} {source}",
                                         f"hold different configurations of {record.study} {record.arm} depth "
                                         f"{record.depth} seed {record.seed} (config hash {first.config_hash} and "
                                         f"{record.config_hash}): report them separately")
                    continue                    # the same run found twice
            chosen[key] = (source, record)
    return [record for _, record in chosen.values()]
