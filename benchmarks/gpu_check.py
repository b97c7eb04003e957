"""`make gpu-check`: the GPU path end to end on a machine with a GPU and no internet, within 8 minutes.

Runs, each under its own time limit, with the Python that is there (torch with CUDA, lightning,
torchmetrics, pytest, pytest-xdist, hypothesis, scipy, matplotlib; no install of this package needed:
it runs from src/):
  1. the device tests (`pytest -m devices`: layers, generator, clipping/AGC, losses, training, the
     non-finite guard, run/bench device placement — each compared with the CPU);
  2. a smoke run (`harness run --profile smoke --device cuda`);
  3. `harness bench --device cuda`;
  4. a 2-epoch paper-profile depth-4 run (`harness run --profile paper --torch-epochs 2 --device cuda`),
     and `harness describe --device cuda` (measured peak memory beside the estimate);
then prints one table. pytest-json-report and pytest-metadata are not needed here; to have them on
such a machine, download their wheels where there is internet and install them there offline:
    pip download pytest-json-report pytest-metadata --no-deps -d wheels/     # on a connected machine
    python3 -m pip install --no-index --find-links wheels/ pytest-json-report pytest-metadata

Run: make gpu-check   (or python3 benchmarks/gpu_check.py [--out-dir DIR] [--allow-cpu: a dry run on a CPU])
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STEP_LIMIT_S = {"device tests": 150, "smoke run": 60, "bench": 150, "paper 2 epochs": 180, "describe": 60}


def run_step(name: str, arguments: list[str], env: dict, log_dir: Path) -> dict:
    """Run one check as a subprocess under its time limit; its output goes to log_dir/<name>.log."""
    started = time.perf_counter()
    log = log_dir / (name.replace(" ", "_") + ".log")
    try:
        result = subprocess.run([sys.executable, *arguments], cwd=ROOT, env=env, capture_output=True, text=True,
                                timeout=STEP_LIMIT_S[name])
        output, status = result.stdout + result.stderr, result.returncode
    except subprocess.TimeoutExpired as exc:
        output = (exc.stdout or b"").decode(errors="replace") + (exc.stderr or b"").decode(errors="replace")
        status = f"timeout after {STEP_LIMIT_S[name]} s"
    log.write_text(output)
    seconds = time.perf_counter() - started
    print(f"  {name}: {'ok' if status == 0 else 'FAILED (' + str(status) + ')'} in {seconds:.0f} s  [{log}]",
          flush=True)
    return {"name": name, "status": status, "seconds": seconds, "output": output}


def main() -> int:
    parser = argparse.ArgumentParser(description="the GPU path end to end")
    parser.add_argument("--out-dir", default=None, help="runs, logs and gpu_check.json (default: a new gpu-check-* folder)")
    parser.add_argument("--allow-cpu", action="store_true", help="run the same checks on the CPU (a dry run)")
    args = parser.parse_args()

    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu" and not args.allow_cpu:
        print("gpu-check: no CUDA device on this machine (torch.cuda.is_available() is False); "
              "run it on a GPU machine, or pass --allow-cpu for a dry run", file=sys.stderr)
        return 2
    out = Path(args.out_dir or ROOT / f"gpu-check-{time.strftime('%Y%m%d-%H%M%S')}").resolve()
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "HARNESS_CACHE_DIR": str(out / "cache"), "PYTHONWARNINGS": "ignore", "PYTHONUNBUFFERED": "1"}
    harness = ["-m", "harness.cli.main"]
    print(f"gpu-check on {device} ({torch.cuda.get_device_name(0) if device == 'cuda' else platform.processor()}), "
          f"writing to {out}", flush=True)

    steps = [
        run_step("device tests", ["-m", "pytest", "-m", "devices", "-q", "-p", "no:cacheprovider",
                                  "stability_tests/devices"], env, out),
        run_step("smoke run", [*harness, "run", "--profile", "smoke", "--N", "32", "--set-phi", "--fno-blocks", "3",
                               "--device", device, "--output-dir", str(out / "smoke")], env, out),
        run_step("bench", [*harness, "bench", "--device", device, "--out-json", str(out / "bench.json"),
                           *([] if device == "cuda" else ["--quick", "--steps", "2", "--groups", "1,3"])], env, out),
        # (a CPU dry run trains one quick-profile epoch instead: a paper epoch takes minutes there)
        run_step("paper 2 epochs", [*harness, "run", "--N", "64", "--set-phi", "--fno-blocks", "4",
                                    "--torch-max-hidden-channels", "512", "--torch-grad-clip", "1.0",
                                    "--torch-log-grad-norm", "--device", device, "--output-dir", str(out / "paper_depth4"),
                                    *(["--profile", "paper", "--torch-epochs", "2"] if device == "cuda"
                                      else ["--profile", "quick", "--torch-epochs", "1"])], env, out),
        run_step("describe", [*harness, "describe", "--fno-blocks", "6", "--torch-max-hidden-channels", "512",
                              "--device", device, "--json"], env, out),
    ]
    summary = summarise(steps, out, device)
    (out / "gpu_check.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(table(summary))
    return 0 if all(step["status"] == 0 for step in steps) else 1


def summarise(steps: list[dict], out: Path, device: str) -> dict:
    import lightning
    import torch

    by_name = {step["name"]: step for step in steps}
    tests = re.search(r"(\d+) passed", by_name["device tests"]["output"])
    failed = re.search(r"(\d+) failed", by_name["device tests"]["output"])
    bench = json.loads((out / "bench.json").read_text()) if (out / "bench.json").exists() else {}
    paper = out / "paper_depth4"
    stats = json.loads((paper / "stats.json").read_text()) if (paper / "stats.json").exists() else {}
    history = json.loads((paper / "history.json").read_text()) if (paper / "history.json").exists() else {}
    try:
        described = json.loads(by_name["describe"]["output"][by_name["describe"]["output"].index("{"):])
    except ValueError:
        described = {}
    return {
        "device": torch.cuda.get_device_name(0) if device == "cuda" else platform.processor() or "cpu",
        "versions": {"torch": torch.__version__, "cuda": torch.version.cuda, "lightning": lightning.__version__,
                     "python": platform.python_version()},
        "steps": {step["name"]: {"status": step["status"], "seconds": round(step["seconds"], 1)} for step in steps},
        "device_tests_passed": int(tests[1]) if tests else 0,
        "device_tests_failed": int(failed[1]) if failed else 0,
        "bench_step_s": {m["model"]: m["harness_step_s"] for m in bench.get("models", [])},
        "bench_bf16_step_s": {m["model"]: m["bf16_plain_step_s"] for m in bench.get("models", [])},
        "paper_epoch_s": [e["train_s"] for e in history.get("epochs", [])],
        "paper_amp_ssim_after_2_epochs": stats.get("amp_ssim"),
        "paper_outcome": stats.get("outcome"),
        "describe_depth6_estimate_bytes": described.get("train_memory_bytes"),
        "describe_depth6_measured_bytes": described.get("measured_peak_bytes"),
        "total_s": round(sum(step["seconds"] for step in steps), 1),
    }


def table(summary: dict) -> str:
    def gib(value):
        return "–" if value is None else f"{value / 2**30:.2f} GiB"

    rows = [
        ("device", summary["device"]),
        ("versions", ", ".join(f"{k} {v}" for k, v in summary["versions"].items())),
        ("checks", ", ".join(f"{k} {'ok' if v['status'] == 0 else 'FAILED'} ({v['seconds']:.0f} s)"
                             for k, v in summary["steps"].items())),
        ("device tests", f"{summary['device_tests_passed']} passed, {summary['device_tests_failed']} failed"),
        ("step time (harness)", ", ".join(f"{k} {v:.3f} s" for k, v in summary["bench_step_s"].items()) or "–"),
        ("step time (bf16 plain)", ", ".join(f"{k} {v:.3f} s" for k, v in summary["bench_bf16_step_s"].items()) or "–"),
        ("paper depth 4 epoch", ", ".join(f"{s:.1f} s" for s in summary["paper_epoch_s"]) or "–"),
        ("amp_ssim after 2 epochs", f"{summary['paper_amp_ssim_after_2_epochs']} ({summary['paper_outcome']})"),
        ("depth 6 memory", f"estimate {gib(summary['describe_depth6_estimate_bytes'])}, measured "
                           f"{gib(summary['describe_depth6_measured_bytes'])}"),
        ("total", f"{summary['total_s']:.0f} s"),
    ]
    return "\n".join(["| check | result |", "|---|---|", *[f"| {name} | {value} |" for name, value in rows]])


if __name__ == "__main__":
    sys.exit(main())
