"""The reference-free verdict of runs on measured-data files against their ground truth: our simulated datasets
(both probes) written as the field's files, runs made to be healthy and made to fail trained on them through
--data-npz, each graded with and without the truth. Slow: about 25 minutes on 2 cores.

Run: pytest -s -m reference_free   (it prints the confusion table; reports/reference_free_validation.md holds the
rounds measured so far, this one — seeds 17 to 24, the holdout — among them)
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.reference_free]

ROOT = Path(__file__).resolve().parents[2]
MIN_AGREEMENT = 0.95      # of the runs the ground truth classifies (ok or crashed)


def test_the_reference_free_verdict_agrees_with_the_ground_truth(tmp_path):
    report = tmp_path / "reference_free_validation.md"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "reference_free_validation.py"), "--out", str(tmp_path),
                    "--first-seed", "17", "--report", str(report)], check=True, cwd=ROOT)
    rows = json.loads((tmp_path / "comparison.json").read_text())
    classified = [row for row in rows if row["ground_truth"] != "inconclusive"]
    agreeing = sum(row["ground_truth"] == row["reference_free"] for row in classified)
    assert classified and agreeing / len(classified) >= MIN_AGREEMENT, report.read_text()
