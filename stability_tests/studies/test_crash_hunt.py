"""Crash Hunt: the control arm over depths × seeds. Each test trains one run and records its verdict; a
sequential design skips the seeds of a depth already decided.

A crashed run is a passing test with crashed=True; only a broken harness fails.
"""

import pytest

from harness.run import OUTCOMES
from harness.study import RECORD_PROPERTY

pytestmark = [pytest.mark.slow, pytest.mark.crashhunt]


def test_crash_hunt(crash_hunt_case, study_session, record_property, request):
    if (decided := study_session.skip_reason(crash_hunt_case)) is not None:
        pytest.skip(decided)  # its depth is decided: this seed is not needed
    record = study_session.run(crash_hunt_case, label=request.node.callspec.id)
    record_property(RECORD_PROPERTY, record.to_json(transient=True))
    assert record.outcome in OUTCOMES
    assert (record.depth, record.seed) == (crash_hunt_case.depth, crash_hunt_case.seed)
    if record.outcome in ("ok", "crashed", "inconclusive"):
        assert record.n_epochs >= 1 or "nonfinite" in record.reasons
        assert record.crashed == bool(record.reasons)
