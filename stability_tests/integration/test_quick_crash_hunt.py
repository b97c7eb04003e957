"""The quick profile answers: a slice of the real quick crash hunt (the fixtures' control arm at the quick scale)
whose trained run ends classified, not inconclusive, and whose depth is decided; the infeasible depth is said in
a second. One run: the SPRT is told that a crashy recipe crashes 85 % of the time (--p1 0.85), so that a single
ok run is enough evidence for `stable` (log 0.15/0.95 = −1.85 < log 0.2/0.95 = −1.56). The run is cut to 5 of the
profile's 8 epochs to keep CI short: this seed's depth-4 run is already `ok` after 4 (fit error 0.063 under its line
0.070, amp_ssim 0.42 over the floor 0.28, measured on the CI's CPU build of torch)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def test_a_slice_of_the_quick_crash_hunt_is_classified_and_decided(tmp_path):
    command = [sys.executable, "-m", "pytest", "stability_tests/studies/test_crash_hunt.py", "-m", "crashhunt",
               "--profile", "quick", "--depths", "4,8",
               "--max-seeds", "1", "--seed-batch", "1", "--p1", "0.85", "--epochs", "5", f"--runs-dir={tmp_path / 'runs'}",
               f"--reports-dir={tmp_path / 'reports'}", "-p", "no:cacheprovider", "-q"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900,
                            env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    summary = json.loads((tmp_path / "reports" / "crash_hunt_summary.json").read_text())
    depth4, depth8 = sorted(summary["depths"], key=lambda d: d["depth"])
    (run,) = depth4["seeds"]
    assert run["outcome"] == "ok", run
    assert depth4["decision"]["decision"] == "stable" and depth4["decision"]["seeds_used"] == 1
    assert [s["outcome"] for s in depth8["seeds"]] == ["infeasible"]
    config = json.loads((tmp_path / "runs" / "crash_hunt" / "control" / "depth4_seed20260128" / "config.json").read_text())
    assert (config["data"]["N"], config["width"], config["max_hidden_channels"]) == (32, 16, 128)
    stats = json.loads((tmp_path / "runs" / "crash_hunt" / "control" / "depth4_seed20260128" / "stats.json").read_text())
    assert stats["params"] == 4_301_170 and stats["n_epochs"] == 5   # the quick model at depth 4, not the paper's 17.2 M
    assert summary["scale_note"].startswith("Profile quick is a reduced-scale recipe")
    assert result.stdout.index("Profile quick is a reduced-scale recipe") < result.stdout.index("Crash Hunt (profile quick)")
