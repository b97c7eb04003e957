"""`harness report`: rebuild the study reports from JSON reports and/or run folders (several machines)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import UsageError
from ..fsutil import ensure_writable_dir
from ..settings import NUMBERS, int_list
from ..study import load_studies, records_from_json_report, records_from_runs_dir
from ..study.aggregate import aggregate
from ..study.agreement import with_agreement
from ..study.definitions import STUDIES
from ..study.design import DESIGN_OPTIONS, add_design_options, make_design
from ..study.records import FoundRecords, merged
from ..study.report import terminal_table, write_reports


def add_parser(subparsers, name: str) -> None:
    parser = subparsers.add_parser(name, help="aggregate run records into reports/ (merges shards)")
    parser.add_argument("--json-report", action="append", default=[], metavar="FILE",
                        help="a pytest-json-report file of a study session (repeat for shards)")
    parser.add_argument("--runs-dir", action="append", default=[], metavar="DIR",
                        help="a runs folder with runs/<study>/<arm>/<run>/stats.json (repeat for shards)")
    parser.add_argument("--reports-dir", default="reports", help="where to write the reports (default reports/)")
    parser.add_argument("--count-unfinished-as-crash", action="store_true",
                        help="count inconclusive and oom runs as crashes (infeasible ones never: they are no run)")
    parser.add_argument("--seeds", default=None, help="the seeds the sessions planned, e.g. 11,12 (default: the "
                        "design's, with any others found)")
    add_design_options(parser.add_argument)


def _read_sources(args: argparse.Namespace) -> list[tuple[str, FoundRecords]]:
    found = []
    for path in args.json_report:
        if not Path(path).is_file():
            raise UsageError("--json-report", path, "file not found")
        try:
            found.append((path, records_from_json_report(path)))
        except (ValueError, KeyError, TypeError) as exc:
            raise UsageError("--json-report", path, f"not a pytest-json-report file ({exc})") from None
    for folder in args.runs_dir:
        if not Path(folder).is_dir():
            raise UsageError("--runs-dir", folder, "not a folder")
        found.append((folder, records_from_runs_dir(folder)))
    return found


def run(args: argparse.Namespace) -> int:
    if not args.json_report and not args.runs_dir:
        raise UsageError("--json-report/--runs-dir", "(none)", "give at least one JSON report or runs folder")
    found = _read_sources(args)
    records = merged([(source, result.records) for source, result in found])
    excluded = [line for _, result in found for line in result.excluded]
    for line in excluded:
        print(f"harness report: excluded: {line}", file=sys.stderr)
    if not records:
        raise UsageError("--json-report/--runs-dir", " ".join(args.json_report + args.runs_dir),
                         "no study records found" + (f" ({len(excluded)} excluded)" if excluded else ""))
    ensure_writable_dir(args.reports_dir, "--reports-dir")
    studies = load_studies()
    design = make_design(studies.design_table, {option: getattr(args, option[2:].replace("-", "_"))
                                                for option in DESIGN_OPTIONS}, f"{studies.source} [design]")
    seeds = int_list(args.seeds, "--seeds", *NUMBERS["--seed"][:2])
    plan = {study: studies.planned_seeds(study, design, seeds) for study in STUDIES}
    summaries = aggregate(with_agreement(records), design=design, seeds=plan,
                          count_unfinished_as_crash=args.count_unfinished_as_crash)
    for summary in summaries.values():
        if summary and excluded:
            summary["excluded_records"] = excluded
    written = write_reports(summaries, args.reports_dir, records=records)
    print(terminal_table(summaries))
    if excluded:
        print(f"\n{len(excluded)} record(s) excluded as invalid (listed above and in the reports)")
    print("\nwrote: " + ", ".join(str(p) for p in written))
    return 0

