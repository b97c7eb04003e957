"""Crash Hunt: the control arm over depths × seeds. Each test trains one run and records its verdict.

A crashed run is a passing test with crashed=True; only a broken harness fails.
"""

import pytest

from harness.run import OUTCOMES
from harness.study import CRASH_HUNT, RECORD_PROPERTY, record_from_stats

pytestmark = [pytest.mark.slow, pytest.mark.crashhunt]


def test_crash_hunt(crash_hunt_case, study_session, record_property, request):
    depth, seed = crash_hunt_case
    arm = study_session.studies.crash_hunt["arm"]
    stats = study_session.run(CRASH_HUNT, arm, depth, seed, label=request.node.callspec.id)
    record_property(RECORD_PROPERTY, record_from_stats(stats, stats["run_dir"]))
    assert stats["outcome"] in OUTCOMES
    assert stats["depth"] == depth and stats["seed"] == seed
    if stats["outcome"] in ("ok", "crashed", "inconclusive"):
        assert stats["n_epochs"] >= 1 or "nonfinite" in stats["reasons"]
        assert stats["crashed"] == bool(stats["reasons"])
