"""Acceptance of the quick profile on a fresh crash hunt: it decides every feasible depth within 15 minutes on 2
cores, its control runs classified. Slow: about 12 minutes.

Run: pytest -m calibration   (on the idle 2-core machine; it starts its own `pytest -m crashhunt -n 2`)
"""

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.calibration]

ROOT = Path(__file__).resolve().parents[2]
BUDGET_S = 15 * 60
MEMORY_LIMIT_BYTES = 24 * 2**30
MIN_CLASSIFIED = 0.95      # of the trained control runs: ok or crashed, not inconclusive


def _tree_rss_bytes(pid: int) -> int:
    """Resident memory of a process and all its descendants, from /proc."""
    children_of: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            children_of.setdefault(int(fields[1]), []).append(int(entry.name))
            rss[int(entry.name)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        total += rss.get(current, 0)
        stack += children_of.get(current, [])
    return total


def test_quick_crash_hunt_meets_the_acceptance_numbers(tmp_path):
    command = [sys.executable, "-m", "pytest", "-m", "crashhunt", "--profile", "quick", "-n", "2", "--rerun",
               "--runs-dir", str(tmp_path / "runs"), "--reports-dir", str(tmp_path / "reports"), "-p", "no:cacheprovider"]
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = [0]

    def sample():
        while process.poll() is None:
            peak[0] = max(peak[0], _tree_rss_bytes(process.pid))
            time.sleep(2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output = process.communicate()[0]
    wall_s = time.perf_counter() - start
    sampler.join()
    assert process.returncode == 0, output[-3000:]
    summary = json.loads((tmp_path / "reports" / "crash_hunt_summary.json").read_text())
    print(f"quick crash hunt: {wall_s:.0f} s, peak memory {peak[0] / 2**30:.1f} GiB")
    assert wall_s <= BUDGET_S
    assert peak[0] <= MEMORY_LIMIT_BYTES
    trained = [seed for depth in summary["depths"] for seed in depth["seeds"] if seed["outcome"] != "infeasible"]
    classified = [seed for seed in trained if seed["outcome"] in ("ok", "crashed")]
    assert trained and len(classified) >= MIN_CLASSIFIED * len(trained), [s["outcome"] for s in trained]
    for depth in summary["depths"]:
        if any(seed["outcome"] != "infeasible" for seed in depth["seeds"]):
            assert depth["decision"]["decision"] in ("stable", "crashy"), depth["decision"]
