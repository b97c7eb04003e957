"""benchmarks/gpu_reference.py: how it spends a GPU's minutes (pure planning, against the SPRT's own
arithmetic), and its dry run on a CPU, which goes through every step and leaves the layout a GPU run leaves."""

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_script():
    spec = importlib.util.spec_from_file_location("gpu_reference", ROOT / "benchmarks" / "gpu_reference.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module   # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


# the seed-group rows measured on one H200 (reports/paper/2026-12-04-h200/bench.json)
H200_GROUPS = [{"members": 1, "group_step_s": 0.0124}, {"members": 4, "group_step_s": 0.0191},
               {"members": 16, "group_step_s": 0.0515}]
PAPER_STEPS = math.ceil(6889 / 16)


def test_the_fewest_seeds_that_can_call_a_depth_stable_follow_from_the_sprt():
    """6 ok runs and no crash take Wald's log-likelihood ratio below its lower boundary, 5 do not."""
    script = load_script()
    p0, p1, alpha, beta = 0.05, 0.30, 0.05, 0.20
    lower = math.log(beta / (1 - alpha))
    per_ok = math.log((1 - p1) / (1 - p0))
    assert script.DECIDING_SEEDS * per_ok <= lower < (script.DECIDING_SEEDS - 1) * per_ok


@pytest.mark.parametrize("budget_s", [300, 420, 1400, 3000, 20000])
def test_a_plan_fits_its_budget_and_prefers_whole_runs_that_can_decide(budget_s):
    script = load_script()
    plan = script.plan_hunt(H200_GROUPS, budget_s, PAPER_STEPS, 30)
    assert plan is not None
    assert plan.estimated_s <= budget_s
    assert plan.max_seeds % plan.group_size == 0
    if not plan.shortened:
        groups = plan.max_seeds // plan.group_size
        epoch_s = script.epoch_seconds(next(r["group_step_s"] for r in H200_GROUPS if r["members"] == plan.group_size),
                                       PAPER_STEPS)
        assert script.SESSION_START_S + (groups + 1) * 30 * epoch_s > budget_s, "a further group would have fitted"
    else:
        alone_s = script.SESSION_START_S + 30 * script.epoch_seconds(H200_GROUPS[0]["group_step_s"], PAPER_STEPS)
        whole_run_fits = alone_s <= budget_s
        assert 3 <= plan.epochs < 30
        assert plan.max_seeds >= script.DECIDING_SEEDS or not whole_run_fits


def test_whole_runs_are_kept_once_they_are_enough_to_decide_and_nothing_is_planned_without_time():
    script = load_script()
    assert not script.plan_hunt(H200_GROUPS, 3000, PAPER_STEPS, 30).shortened
    assert script.plan_hunt(H200_GROUPS, 420, PAPER_STEPS, 30).shortened       # 1 whole run, or 16 shortened ones
    assert script.plan_hunt(H200_GROUPS, 60, PAPER_STEPS, 30) is None


@pytest.mark.integration
def test_the_dry_run_goes_through_every_step_and_leaves_the_gpu_run_layout(tmp_path):
    out = tmp_path / "reference"
    result = subprocess.run([sys.executable, "benchmarks/gpu_reference.py", "--allow-cpu", "--out-dir", str(out)],
                            cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    summary = json.loads((out / "reference.json").read_text())
    assert set(summary["steps"]) == {"device tests", "smoke run", "bench groups", "crash hunt fzp", "report fzp",
                                     "crash hunt disk", "report disk"}
    assert all(step["status"] == 0 for step in summary["steps"].values()), summary["steps"]
    for name in ("bench.json", "versions.json", "device_samples.csv", "logs/device_tests.log", "logs/bench_groups.log"):
        assert (out / name).is_file(), name
    assert [row["members"] for row in summary["bench"]] == [1, 2]
    for probe in ("fzp", "disk"):
        assert (out / f"crash_hunt_{probe}" / "crash_hunt_summary.json").is_file()
        assert (out / f"crash_hunt_{probe}" / "crash_hunt_report.md").is_file()
        runs = sorted((out / "runs" / probe / "crash_hunt").glob("*/depth4_seed*"))
        assert len(runs) == 2, runs
        for run in runs:
            assert {"history.json", "stats.json", "config.json", "progress.log"} <= {p.name for p in run.iterdir()}
        hunt = next(h for h in summary["crash_hunts"] if h["probe"] == probe)
        assert len(hunt["runs"]) == 2 and hunt["plan"]["epochs"] == 1
    assert not list(out.rglob("*.pt")) and not (out / "cache").exists(), "weights or the dataset cache were kept"
    assert (out / "device_samples.csv").read_text().startswith("elapsed_s,gpu_util_percent")
    assert "| total |" in result.stdout
