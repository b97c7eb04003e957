"""Run records: built from a run's stats, from a pytest report, or from a run folder on disk."""

from __future__ import annotations

import json
import re
from pathlib import Path

RECORD_PROPERTY = "stability_record"
RECORD_FIELDS = ("study", "arm", "depth", "seed", "outcome", "crashed", "reasons", "best_val_loss", "amp_ssim",
                 "fit_error", "onset_epoch", "peak_amp_ssim", "peak_epoch", "n_epochs", "explanation",
                 "run_dir", "profile", "device", "precision", "config_hash", "message", "wall_s")
# Test ids: crash hunt "depth6-seed20260129", shootout "layerscale-seed20260128".
_HUNT_ID = re.compile(r"test_crash_hunt\[depth(?P<depth>\d+)-seed(?P<seed>\d+)\]")
_SHOOT_ID = re.compile(r"test_shootout\[(?P<arm>.+)-seed(?P<seed>\d+)\]")


def record_from_stats(stats: dict, run_dir: str | Path | None = None) -> dict:
    """The builtin-typed record of one run (what a study test passes to record_property)."""
    record = {field: stats.get(field) for field in RECORD_FIELDS}
    record["precision"] = (stats.get("environment") or {}).get("precision")
    record["reasons"] = list(record["reasons"] or [])
    record["crashed"] = bool(record["crashed"])
    if run_dir is not None:
        record["run_dir"] = str(run_dir)
    return record


def error_record(nodeid: str, message: str) -> dict | None:
    """A study test that ended without a record (harness error, dead worker): an infrastructure error."""
    if match := _HUNT_ID.search(nodeid):
        study, arm, depth = "crash_hunt", "control", int(match["depth"])
    elif match := _SHOOT_ID.search(nodeid):
        study, arm, depth = "shootout", match["arm"], None
    else:
        return None
    return {**dict.fromkeys(RECORD_FIELDS), "study": study, "arm": arm, "depth": depth, "seed": int(match["seed"]),
            "outcome": "error", "reasons": [], "message": message[:500]}


def records_from_json_report(path: str | Path) -> list[dict]:
    """Records from a pytest-json-report file: each study test's record, or an error entry."""
    report = json.loads(Path(path).read_text())
    records = []
    for test in report.get("tests", []):
        found = [prop[RECORD_PROPERTY] for prop in test.get("user_properties", []) if RECORD_PROPERTY in prop]
        if test.get("outcome") in ("failed", "error"):
            if (entry := error_record(test["nodeid"], _failure_text(test))) is not None:
                records.append(entry)
        elif found:
            records.append(found[-1])
    return records


def _failure_text(test: dict) -> str:
    for stage in ("call", "setup", "teardown"):
        if test.get(stage, {}).get("longrepr"):
            return str(test[stage]["longrepr"]).strip().splitlines()[-1]
    return "failed without a record"


def records_from_runs_dir(runs_dir: str | Path) -> list[dict]:
    """Records of every finished run folder (stats.json) under runs_dir/<study>/<arm>/<run>/, with the
    verdict re-derived (in memory) where an older version of the rules decided it."""
    from ..run import RunFolder
    from ..run.restat import refreshed_stats

    records = []
    for stats_path in sorted(Path(runs_dir).glob("*/*/*/stats.json")):
        stats = json.loads(stats_path.read_text())
        if stats.get("study") in ("crash_hunt", "shootout"):
            stats = refreshed_stats(RunFolder(stats_path.parent), stats, write=False)
            records.append(record_from_stats(stats, stats_path.parent))
    return records
