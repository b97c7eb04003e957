"""`make gpu-reference`: the paper protocol measured on one GPU, within 9 minutes, in one prepared script.

A GPU machine is lent to us for minutes at a time, with no internet and its own Python (torch with CUDA,
lightning, torchmetrics, pytest, pytest-xdist, hypothesis, scipy, matplotlib). This script runs from src/
without installing anything, and needs neither pytest-json-report nor pytest-metadata. Each step has its
own time limit, taken from what is left of the whole budget:

  a. the device tests (`pytest -m devices`, every layer and training path against the CPU) and a smoke run
     on the device; the script stops here, with its summary, when the smoke run fails or no device test
     ran (the GPU path is broken: nothing after would mean anything);
  b. `harness bench --device cuda` with seed groups of 1, 4 and 16 members: seconds per step, steps/s per
     member, peak memory, and each group's per-member rate against one member alone;
  c. the paper crash hunt at depth 4 under the zone-plate probe (fzp, the default), sequential, with the
     seed-group size and the number of seeds that (b)'s figures say fit the time left. Runs checkpoint as
     usual; at the step's limit the session gets SIGTERM (it writes its reports), and the reports are
     rebuilt from the run folders whatever happened, so a cut-off session still leaves a report;
  d. the same under the disk probe (the original study's twin case), if the time left allows;
  e. everything under one folder: bench.json, each crash hunt's reports and per-run history.json,
     stats.json, config.json and progress.log (weights, checkpoints and arrays are removed), nvidia-smi
     samples every 5 s (device_samples.csv), versions, reference.json; then one table.

Run:  make gpu-reference        (or python3 benchmarks/gpu_reference.py [--out-dir DIR] [--budget-s 540])
      python3 benchmarks/gpu_reference.py --allow-cpu     a dry run on a CPU: the smoke profile, every step and
                                                           the same files, in about a minute
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUDGET_S = 540                  # 9 minutes: a lent machine runs one command for at most 10
GROUP_SIZES = (1, 4, 16)
PAPER_EPOCHS = 30
BATCH = 16
# How a measured group step becomes an epoch and a run: each epoch also validates (1089 test patches),
# stitches and scores the reconstruction; a session also builds the dataset and starts Python. These
# allowances are deliberately generous: a group that does not finish in its step leaves no classified run.
EPOCH_OVERHEAD = 1.35
EPOCH_FIXED_S = 3.0
SESSION_START_S = 45.0
SHORT_EPOCHS = 8                # the fewest epochs a shortened plan prefers
DECIDING_SEEDS = 6              # the fewest runs in which the SPRT can call a depth stable (6 ok: log-LR −1.83 < −1.56)
SIGTERM_GRACE_S = 45.0          # from SIGTERM to SIGKILL: the session writes checkpoints and its reports
KEPT_RUN_FILES = ("history.json", "stats.json", "config.json", "progress.log", "metrics.json", "recon.png")
SAMPLE_EVERY_S = 5.0


@dataclass(frozen=True)
class HuntPlan:
    """How one crash hunt spends its time: groups of `group_size` seeds, `max_seeds` seeds at most, each
    run `epochs` long (the profile's, or fewer when not even one group of its runs fits)."""

    group_size: int
    max_seeds: int
    epochs: int
    profile_epochs: int
    estimated_s: float
    why: str

    @property
    def shortened(self) -> bool:
        return self.epochs < self.profile_epochs


def epoch_seconds(group_step_s: float, steps_per_epoch: int) -> float:
    return steps_per_epoch * group_step_s * EPOCH_OVERHEAD + EPOCH_FIXED_S


def plan_hunt(group_rows: list[dict], budget_s: float, steps_per_epoch: int, epochs: int) -> HuntPlan | None:
    """The plan that completes the most runs within budget_s, from the bench's seed-group rows.

    Groups train one after another (a sequential design adds a batch after the previous one is decided), so
    the seeds are whole groups: K × ⌊(budget − start) / (epochs × epoch_s(K))⌋. When that is fewer seeds than
    can decide a depth, and a group of at least as many seeds fits SHORT_EPOCHS or more, the runs are
    shortened to the epochs that fit (at least 3: fewer say nothing) and the plan says so: a decision on
    shortened runs, labelled as such, against no decision on whole ones. None when nothing fits."""
    usable = budget_s - SESSION_START_S
    best = None
    for row in sorted(group_rows, key=lambda r: r["members"]):
        size, run_s = row["members"], epochs * epoch_seconds(row["group_step_s"], steps_per_epoch)
        groups = math.floor(usable / run_s) if run_s > 0 else 0
        if groups >= 1 and (best is None or groups * size > best.max_seeds):
            best = HuntPlan(size, groups * size, epochs, epochs, SESSION_START_S + groups * run_s,
                            f"{groups} group(s) of {size}: {run_s:.0f} s a group of {epochs} epochs")
    if best is not None and best.max_seeds >= DECIDING_SEEDS:
        return best
    shortened = _shortened_plan(group_rows, usable, steps_per_epoch, epochs)
    if best is None or (shortened is not None and shortened.max_seeds >= DECIDING_SEEDS):
        return shortened
    return best


def _shortened_plan(group_rows: list[dict], usable: float, steps_per_epoch: int, epochs: int) -> HuntPlan | None:
    # the largest group that still trains SHORT_EPOCHS (the paper runs are told apart by epoch 3–5), else the
    # group that trains the most epochs, if at least 3
    fits = [(row["members"], min(epochs, math.floor(usable / epoch_seconds(row["group_step_s"], steps_per_epoch))),
             epoch_seconds(row["group_step_s"], steps_per_epoch)) for row in group_rows]
    long_enough = [fit for fit in fits if fit[1] >= SHORT_EPOCHS]
    choice = max(long_enough, key=lambda fit: fit[0]) if long_enough else max(fits, key=lambda fit: fit[1], default=None)
    if choice is None or choice[1] < 3:
        return None
    size, fitting, epoch_s = choice
    return HuntPlan(size, size, fitting, epochs, SESSION_START_S + fitting * epoch_s,
                    f"one group of {size}, each run shortened to {fitting} of {epochs} epochs to fit {usable:.0f} s "
                    f"({epoch_s:.0f} s an epoch)")


def steps_per_epoch(profile_name: str, n: int = 64) -> int:
    from harness.data.params import patches_per_axis
    from harness.profiles import load_profile

    profile = load_profile(profile_name)
    return math.ceil(patches_per_axis(profile.object_size, n, profile.train_stride) ** 2 / BATCH)


class Clock:
    """The whole budget, and each step's share of what is left of it."""

    def __init__(self, budget_s: float):
        self.start, self.budget_s = time.monotonic(), budget_s

    def left(self) -> float:
        return self.budget_s - (time.monotonic() - self.start)

    def limit(self, wanted_s: float, reserve_s: float = 0.0) -> float:
        return max(1.0, min(wanted_s, self.left() - reserve_s))


def run_step(name: str, arguments: list[str], env: dict, log_dir: Path, limit_s: float) -> dict:
    """Run one step as a subprocess under its time limit (SIGTERM at the limit, SIGKILL after a grace
    period); its output goes to log_dir/<name>.log and the terminal."""
    log = log_dir / (name.replace(" ", "_") + ".log")
    started = time.monotonic()
    print(f"  {name}: starting (limit {limit_s:.0f} s)", flush=True)
    with open(log, "w") as stream:
        process = subprocess.Popen([sys.executable, *arguments], cwd=ROOT, env=env, stdout=stream,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        try:
            status = process.wait(timeout=limit_s)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=SIGTERM_GRACE_S)
                status = f"stopped at its limit of {limit_s:.0f} s (SIGTERM)"
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                status = f"killed at its limit of {limit_s:.0f} s + {SIGTERM_GRACE_S:.0f} s"
    seconds = time.monotonic() - started
    print(f"  {name}: {'ok' if status == 0 else 'FAILED (' + str(status) + ')'} in {seconds:.0f} s  [{log}]",
          flush=True)
    return {"name": name, "status": status, "seconds": round(seconds, 1), "log": log.name}


class DeviceSampler:
    """nvidia-smi's utilisation, memory and power every 5 s into device_samples.csv (on a CPU: the load
    average, so that a dry run writes the same file)."""

    COLUMNS = ("elapsed_s", "gpu_util_percent", "memory_used_mib", "power_w", "load_1min")

    def __init__(self, path: Path):
        self.path, self.stop, self.rows = path, threading.Event(), []
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.smi = shutil.which("nvidia-smi")

    def __enter__(self):
        self.start = time.monotonic()
        self.thread.start()
        return self

    def __exit__(self, *_):
        self.stop.set()
        self.thread.join()
        with open(self.path, "w", newline="") as stream:
            writer = csv.writer(stream)
            writer.writerow(self.COLUMNS)
            writer.writerows(self.rows)

    def _sample(self) -> tuple:
        gpu = (None, None, None)
        if self.smi:
            try:
                line = subprocess.run([self.smi, "--query-gpu=utilization.gpu,memory.used,power.draw",
                                       "--format=csv,noheader,nounits", "--id=0"], capture_output=True, text=True,
                                      timeout=4).stdout.strip()
                gpu = tuple(part.strip() for part in line.split(","))[:3]
            except (OSError, subprocess.TimeoutExpired):
                pass
        return (round(time.monotonic() - self.start, 1), *gpu, os.getloadavg()[0])

    def _loop(self) -> None:
        while not self.stop.is_set():
            self.rows.append(self._sample())
            self.stop.wait(SAMPLE_EVERY_S)

    def busy_percent(self) -> float | None:
        values = [float(row[1]) for row in self.rows if row[1] not in (None, "", "[N/A]")]
        return round(sum(values) / len(values), 1) if values else None


def crash_hunt_arguments(device: str, profile: str, probe: str, plan: HuntPlan, out: Path) -> list[str]:
    return ["-m", "pytest", "stability_tests/studies/test_crash_hunt.py", "-m", "crashhunt", "-p", "no:cacheprovider",
            "-q", "-s", "--profile", profile,
            "--depths", "4", "--probe-source", probe, "--device", device, "--design", "sequential",
            "--seed-batch", str(plan.group_size), "--group-size", str(plan.group_size),
            "--max-seeds", str(plan.max_seeds), *(["--epochs", str(plan.epochs)] if plan.shortened else []),
            # path options with '=': pytest takes a separate existing folder for its rootdir, before our options exist
            f"--runs-dir={out / 'runs' / probe}", f"--reports-dir={out / f'crash_hunt_{probe}'}"]


def hunt_summary(out: Path, probe: str, plan: HuntPlan | None, step: dict | None) -> dict:
    """What one crash hunt decided and how fast its runs went, from its summary and its run folders."""
    summary_path = out / f"crash_hunt_{probe}" / "crash_hunt_summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    runs, epoch_s = [], []
    for stats_path in sorted((out / "runs" / probe).glob("crash_hunt/*/*/stats.json")):
        stats = json.loads(stats_path.read_text())
        history_path = stats_path.parent / "history.json"
        history = json.loads(history_path.read_text()) if history_path.exists() else {}
        epoch_s += [epoch["train_s"] for epoch in history.get("epochs", []) if "train_s" in epoch]
        runs.append({"seed": stats.get("seed"), "outcome": stats.get("outcome"), "reasons": stats.get("reasons"),
                     "amp_ssim": stats.get("amp_ssim"), "epochs": len(history.get("epochs", []))})
    depth = next((d for d in summary.get("depths", []) if d.get("depth") == 4), {})
    classified = [r for r in runs if r["outcome"] in ("ok", "crashed")]
    hours = (step or {}).get("seconds", 0) / 3600
    return {
        "probe": probe,
        "plan": asdict(plan) if plan else None,
        "decision": (depth.get("decision") or {}).get("decision"),
        "answer": "; ".join(summary.get("decisions", [])) or None,
        "runs": runs,
        "classified_runs": len(classified),
        "epoch_s_per_group_median": _median(epoch_s),
        "epoch_s_per_member": _median(epoch_s) / plan.group_size if plan and epoch_s else None,
        "runs_per_gpu_hour": round(len(classified) / hours, 1) if hours > 0 and classified else None,
    }


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def lighten(runs: Path) -> None:
    """Keep what a reader needs of each run folder (kilobytes); weights, checkpoints and arrays go."""
    for path in sorted(runs.rglob("*"), reverse=True):
        if path.is_file() and path.name not in KEPT_RUN_FILES:
            path.unlink()


def versions(device: str) -> dict:
    import lightning
    import torch

    return {"torch": torch.__version__, "cuda": torch.version.cuda, "lightning": lightning.__version__,
            "python": platform.python_version(), "machine": platform.machine(),
            "device": torch.cuda.get_device_name(0) if device == "cuda" else platform.processor() or "cpu",
            "driver": _driver()}


def _driver() -> str | None:
    smi = shutil.which("nvidia-smi")
    if not smi:
        return None
    try:
        return subprocess.run([smi, "--query-gpu=driver_version", "--format=csv,noheader"], capture_output=True,
                              text=True, timeout=10).stdout.strip() or None
    except (OSError, subprocess.TimeoutExpired):
        return None


def main() -> int:
    parser = argparse.ArgumentParser(description="the paper protocol measured on one GPU")
    parser.add_argument("--out-dir", default=None, help="everything it writes (default: a new gpu-reference-* folder)")
    parser.add_argument("--budget-s", type=float, default=BUDGET_S, help=f"the whole run's time (default {BUDGET_S})")
    parser.add_argument("--allow-cpu", action="store_true",
                        help="a dry run on a CPU: the smoke profile through every step, the same files")
    args = parser.parse_args()
    if not 60 <= args.budget_s <= 3600:
        print(f"gpu-reference: --budget-s {args.budget_s:g}: must be within [60, 3600] seconds", file=sys.stderr)
        return 2

    sys.path.insert(0, str(ROOT / "src"))
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu" and not args.allow_cpu:
        print("gpu-reference: no CUDA device on this machine (torch.cuda.is_available() is False); run it on a GPU "
              "machine, or pass --allow-cpu for a dry run", file=sys.stderr)
        return 2
    clock = Clock(args.budget_s)
    dry = device == "cpu"
    profile = "smoke" if dry else "paper"
    out = Path(args.out_dir or ROOT / f"gpu-reference-{time.strftime('%Y%m%d-%H%M%S')}").resolve()
    out.mkdir(parents=True, exist_ok=True)
    logs = out / "logs"
    logs.mkdir(exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "HARNESS_CACHE_DIR": str(out / "cache"), "PYTHONWARNINGS": "ignore", "PYTHONUNBUFFERED": "1"}
    harness = ["-m", "harness.cli.main"]
    facts = versions(device)
    print(f"gpu-reference on {device} ({facts['device']}), {args.budget_s:.0f} s, writing to {out}", flush=True)
    (out / "versions.json").write_text(json.dumps(facts, indent=2) + "\n")

    steps, hunts = [], []
    with DeviceSampler(out / "device_samples.csv") as sampler:
        steps.append(run_step("device tests", ["-m", "pytest", "-m", "devices", "-q", "-p", "no:cacheprovider",
                                               "stability_tests/devices"], env, logs, clock.limit(150, 360)))
        steps.append(run_step("smoke run", [*harness, "run", "--profile", "smoke", "--N", "32", "--set-phi",
                                            "--fno-blocks", "3", "--device", device, "--output-dir",
                                            str(out / "smoke")], env, logs, clock.limit(60, 300)))
        tests = _test_counts(logs / "device_tests.log")
        if dry and steps[0]["status"] == 5:  # pytest's "no tests ran": a CPU has no other device to compare
            steps[0]["status"] = 0
        broken = steps[1]["status"] != 0 or (not dry and tests["passed"] == 0)
        if not broken:
            groups = "1,2" if dry else ",".join(map(str, GROUP_SIZES))
            steps.append(run_step("bench groups", [*harness, "bench", "--device", device, "--groups-only",
                                                   "--groups", groups, "--out-json", str(out / "bench.json"),
                                                   *(["--steps", "2", "--patch-size", "16"] if dry else [])], env, logs,
                                  clock.limit(120, 300)))
            group_rows = _bench(out).get("seed_groups", [])
            for probe in ("fzp", "disk"):
                budget = clock.left() - 20     # the final report and the table
                plan = plan_hunt(group_rows, budget, steps_per_epoch(profile), _profile_epochs(profile))
                if dry and plan is not None:  # a dry run proves the steps, not the statistics: two seeds, one epoch
                    plan = HuntPlan(min(plan.group_size, 2), 2, 1, plan.profile_epochs, plan.estimated_s, plan.why)
                if plan is None:
                    print(f"  crash hunt {probe}: skipped, {budget:.0f} s left is too little for one group", flush=True)
                    hunts.append(hunt_summary(out, probe, None, None))
                    continue
                print(f"  crash hunt {probe}: {plan.why}; up to {plan.max_seeds} seeds", flush=True)
                step = run_step(f"crash hunt {probe}", crash_hunt_arguments(device, profile, probe, plan, out), env,
                                logs, clock.limit(plan.estimated_s * 1.3, 15))
                steps.append(step)
                # the reports again from the run folders: a session stopped at its limit may not have written them
                runs_of_probe = out / "runs" / probe
                if runs_of_probe.exists():
                    steps.append(run_step(f"report {probe}", [*harness, "report", "--runs-dir", str(runs_of_probe),
                                                              "--reports-dir", str(out / f"crash_hunt_{probe}"),
                                                              "--seed-batch", str(plan.group_size),
                                                              "--max-seeds", str(plan.max_seeds)],
                                          env, logs, clock.limit(30)))
                hunts.append(hunt_summary(out, probe, plan, step))
            if not dry and clock.left() > 90:  # the per-model table (harness vs plain loop, bf16), if time is left
                steps.append(run_step("bench models", [*harness, "bench", "--device", device, "--quick", "--groups",
                                                       "", "--out-json", str(out / "bench_models.json")], env, logs,
                                      clock.limit(75, 15)))
    for folder in ("runs", "smoke"):
        if (out / folder).exists():
            lighten(out / folder)
    shutil.rmtree(out / "cache", ignore_errors=True)
    summary = {"versions": facts, "budget_s": args.budget_s, "device_tests": tests,
               "steps": {step["name"]: {k: step[k] for k in ("status", "seconds", "log")} for step in steps},
               "bench": _bench_rows(_bench(out)), "crash_hunts": hunts, "gpu_busy_percent": sampler.busy_percent(),
               "total_s": round(args.budget_s - clock.left(), 1),
               "stopped_early": "the smoke run failed or no device test ran" if broken else None}
    (out / "reference.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(table(summary))
    return 1 if broken else 0


def _profile_epochs(profile: str) -> int:
    from harness.profiles import load_profile

    return load_profile(profile).epochs


def _test_counts(log: Path) -> dict:
    import re

    text = log.read_text() if log.exists() else ""
    counts = {word: int(match[1]) if (match := re.search(rf"(\d+) {word}", text)) else 0
              for word in ("passed", "failed", "skipped", "error")}
    return counts


def _bench(out: Path) -> dict:
    path = out / "bench.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _bench_rows(bench: dict) -> list[dict]:
    """The seed groups' figures, each member's rate against one member alone."""
    rows = bench.get("seed_groups", [])
    alone = next((row["steps_per_s_per_member"] for row in rows if row["members"] == 1), None)
    return [{"members": row["members"], "group_step_s": round(row["group_step_s"], 4),
             "steps_per_s_per_member": round(row["steps_per_s_per_member"], 2),
             "per_member_vs_alone": round(row["steps_per_s_per_member"] / alone, 3) if alone else None,
             "member_steps_per_s_total": round(row["member_steps_per_s_total"], 1),
             "peak_memory_gib": None if row.get("peak_memory_bytes") is None else round(row["peak_memory_bytes"] / 2**30, 2)}
            for row in rows]


def table(summary: dict) -> str:
    lines = ["| what | result |", "|---|---|",
             f"| device | {summary['versions']['device']} (torch {summary['versions']['torch']}, "
             f"CUDA {summary['versions']['cuda']}, driver {summary['versions']['driver']}) |",
             "| steps | " + ", ".join(f"{name} {'ok' if step['status'] == 0 else 'FAILED'} ({step['seconds']:.0f} s)"
                                     for name, step in summary["steps"].items()) + " |",
             "| device tests | " + ", ".join(f"{v} {k}" for k, v in summary["device_tests"].items()) + " |"]
    for row in summary["bench"]:
        lines.append(f"| group of {row['members']} | {row['group_step_s']:.4f} s a step, {row['steps_per_s_per_member']} "
                     f"steps/s per member (×{row['per_member_vs_alone']} of one alone), "
                     f"{row['member_steps_per_s_total']} member-steps/s, peak {row['peak_memory_gib']} GiB |")
    for hunt in summary["crash_hunts"]:
        plan = hunt["plan"]
        if plan is None:
            lines.append(f"| crash hunt, {hunt['probe']} | not run: too little time left |")
            continue
        outcomes = ", ".join(f"{r['seed']} {r['outcome']}" + (f" ({r['amp_ssim']:.3f})" if r["amp_ssim"] is not None else "")
                             for r in hunt["runs"]) or "no finished run"
        lines.append(f"| crash hunt depth 4, {hunt['probe']} | {hunt['decision'] or 'no decision'}: {outcomes}; "
                     f"groups of {plan['group_size']}, {plan['epochs']} of {plan['profile_epochs']} epochs; "
                     f"{_fmt(hunt['epoch_s_per_member'])} s per epoch per member; "
                     f"{_fmt(hunt['runs_per_gpu_hour'])} runs per GPU-hour |")
    lines.append(f"| GPU busy (mean of 5 s samples) | {_fmt(summary['gpu_busy_percent'])} % |")
    lines.append(f"| total | {summary['total_s']:.0f} s of {summary['budget_s']:.0f} s |")
    if summary["stopped_early"]:
        lines.append(f"| STOPPED EARLY | {summary['stopped_early']}: see logs/ |")
    return "\n".join(lines)


def _fmt(value) -> str:
    return "–" if value is None else f"{value:.3g}" if isinstance(value, float) else str(value)


if __name__ == "__main__":
    sys.exit(main())
