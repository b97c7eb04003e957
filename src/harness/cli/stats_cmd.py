"""`harness stats --run-dir D --out-json F`: the verdict of an existing run, recomputed without training."""

from __future__ import annotations

import argparse
import json

from ..errors import UsageError
from ..fsutil import atomic_write_json
from ..run import NotARunFolder, RunFolder
from ..run.recording import rederived_record


def add_parser(subparsers, name: str) -> None:
    parser = subparsers.add_parser(name, help="recompute the verdict of an existing run folder")
    parser.add_argument("--run-dir", required=True, help="a run folder written by `harness run` or a study")
    parser.add_argument("--out-json", default=None, help="write the recomputed stats here (else print them)")


def run(args: argparse.Namespace) -> int:
    try:
        record = rederived_record(RunFolder(args.run_dir))
    except NotARunFolder as exc:
        raise UsageError("--run-dir", args.run_dir, str(exc)) from None
    payload = record.to_json() | {"run_dir": record.run_dir}
    if args.out_json:
        try:
            atomic_write_json(args.out_json, payload)
        except OSError as exc:
            raise UsageError("--out-json", args.out_json, f"cannot be written ({exc.strerror or exc})") from None
    print(f"{args.run_dir}: {record.label}  amp_ssim {record.amp_ssim}  floor {record.collapse_floor}")
    print(f"  {record.explanation}")
    if not args.out_json:
        print(json.dumps(payload, indent=2, sort_keys=True))
    return 0
