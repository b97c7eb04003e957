"""`harness` entry point: one subcommand per module; bad input is one line and exit status 2."""

from __future__ import annotations

import argparse
import sys

from ..errors import UsageError
from ..fsutil import DiskFull
from ..train.checkpoint import CheckpointRefused
from ..train.interrupt import REQUEUE_EXIT_STATUS, RunInterrupted
from . import bench_cmd, dataset_cmd, describe_cmd, launch_cmd, plan_cmd, report_cmd, run_cmd, stats_cmd

# Each command module defines add_parser() and run(); heavy imports stay inside run().
COMMANDS = {
    "dataset": dataset_cmd, "describe": describe_cmd, "run": run_cmd, "stats": stats_cmd, "report": report_cmd,
    "plan": plan_cmd, "launch": launch_cmd, "bench": bench_cmd,
}


class OneLineParser(argparse.ArgumentParser):
    """argparse's errors as one line (its usage block says nothing about the value at fault); exit 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="harness", description="The stability suite: P_crash of ptychography training recipes.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name, module in COMMANDS.items():
        module.add_parser(subparsers, name)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command].run(args) or 0
    except (UsageError, CheckpointRefused) as exc:
        print(f"harness {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except DiskFull as exc:
        print(f"harness {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except RunInterrupted as exc:  # a stop request (SIGTERM, Ctrl-C) outside a run's own handling
        print(f"harness {args.command}: {exc}", file=sys.stderr)
        return REQUEUE_EXIT_STATUS
    except KeyboardInterrupt:
        print(f"harness {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
