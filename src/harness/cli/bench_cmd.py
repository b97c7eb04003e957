"""`harness bench`: throughput, FLOP/s and fraction of the machine's peak; `--compare` a saved run."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
from pathlib import Path

from ..bench import MODELS, BenchSettings, compare, run_bench
from ..environment import native_bf16_cpu, resolve_device
from ..errors import UsageError
from ..fsutil import atomic_write_json
from ..profiles import load_profile
from ..settings import NUMBERS, check_number
from ..speed_options import measure_options


def add_parser(subparsers, name: str) -> None:
    parser = subparsers.add_parser(name, help="measure training/inference speed against the machine's own peak")
    parser.add_argument("--out-json", default="reports/bench.json", help="where to save the results")
    parser.add_argument("--compare", default=None, metavar="JSON", help="print ratios against a saved bench run")
    parser.add_argument("--steps", type=int, default=8, help="timed optimizer steps per model")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--quick", action="store_true", help="only the hybrid at depth 4 (a smoke check)")
    parser.add_argument("--groups", default="1,3,10", metavar="K,K,...",
                        help="seed-batched rows: members per group, hybrid depth 4 (default 1,3,10; empty: none)")
    parser.add_argument("--profile", default="paper",
                        help="the model scale of the rows: paper (default: N=64, width 32) or quick (N=32, width 16, cap "
                             "128: the CPU recipe's steps/s)")
    parser.add_argument("--patch-size", type=int, default=None, metavar="N",
                        help="patch size of the benched models (default: the profile's)")
    parser.add_argument("--groups-only", action="store_true",
                        help="only the seed-group rows: no per-model table, no dataset build (seconds)")
    parser.add_argument("--speed-options", action="store_true",
                        help="on a CPU, also time what could make a run's step faster — NCHW convolutions, bf16 "
                             "autocast, torch.compile, one run on every core instead of one run per core — each as a "
                             "ratio to the current layout (one run per core, one thread each), hybrid depth 4 at the "
                             "profile's scale; about a minute more")


def run(args: argparse.Namespace) -> int:
    check_number("--steps", args.steps, 1, 100_000, int)
    if args.threads is not None:
        check_number("--threads", args.threads, *NUMBERS["--threads"])
    saved = None
    if args.compare:
        try:
            saved = json.loads(Path(args.compare).read_text())
        except (OSError, ValueError) as exc:
            raise UsageError("--compare", args.compare, f"not a readable bench JSON ({exc})") from None
    try:
        groups = tuple(int(part) for part in args.groups.replace(",", " ").split())
    except ValueError:
        raise UsageError("--groups", args.groups, "expected member counts separated by commas, e.g. 1,3,10") from None
    if any(members < 1 for members in groups):
        raise UsageError("--groups", args.groups, "each member count must be at least 1")
    profile = load_profile(args.profile)
    if args.patch_size is not None:
        check_number("--patch-size", args.patch_size, 16, NUMBERS["--N"][1], int)
    n, width = args.patch_size or profile.patch_size or 64, profile.width or 32
    cap = profile.max_hidden_channels if profile.name != "paper" else None   # the paper rows keep their own caps
    settings = BenchSettings(steps=args.steps, device=resolve_device(args.device), threads=args.threads, n=n,
                             width=width, cap=cap,
                             label=f"profile {profile.name}: N={n}, width {width}, cap {cap or 'per row'}")
    if args.speed_options and settings.device != "cpu":
        raise UsageError("--device", args.device, "--speed-options are measured on a CPU; add --device cpu")
    if args.groups_only and not groups:
        raise UsageError("--groups", "''", "--groups-only needs at least one group size")
    models = () if args.groups_only else MODELS[:1] if args.quick else MODELS
    results = run_bench(settings, models=models, groups=groups)
    if args.speed_options:
        results["speed_options"] = speed_options(settings)
    if "paper_epoch_depth4_minutes" in results:
        print(f"paper-profile epoch at depth 4: {results['paper_epoch_depth4_minutes']:.2f} min "
              f"(6889 patches, batch 16); paper dataset build {results['paper_dataset_build_s']:.1f} s")
    if saved is not None:
        print("\n".join(compare(results, saved)))
    atomic_write_json(args.out_json, results)
    print(f"wrote {args.out_json}")
    return 0


def speed_options(settings) -> dict:
    """The speed options' rows for the hybrid at depth 4 on this CPU (a GPU's layout is one process per device)."""
    cores = len(os.sched_getaffinity(0))
    plan, model = settings.plan("hybrid", 4, None), settings.model_name("hybrid", 4, None)
    print(f"speed options, {model} at N={plan.n}, width {plan.width}, {cores} cores:")
    rows = measure_options(plan, cores, steps=max(settings.steps, 8), native_bf16=native_bf16_cpu() is not None)
    return {"model": model, "cores": cores,
            "rows": [dataclasses.asdict(row) for row in rows]}
