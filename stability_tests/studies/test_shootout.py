"""Shootout: every arm × the same seeds at the crash depth. Each test records its verdict."""

import pytest

from harness.run import OUTCOMES
from harness.study import RECORD_PROPERTY, SHOOTOUT, record_from_stats

pytestmark = [pytest.mark.slow, pytest.mark.shootout]


@pytest.fixture(scope="session")
def crash_depth(study_session):
    try:
        return study_session.crash_depth()
    except LookupError as exc:
        pytest.fail(str(exc), pytrace=False)


def test_shootout(shootout_case, crash_depth, study_session, record_property, request):
    arm, seed = shootout_case
    stats = study_session.run(SHOOTOUT, arm, crash_depth, seed, label=request.node.callspec.id)
    record_property(RECORD_PROPERTY, record_from_stats(stats, stats["run_dir"]))
    assert stats["outcome"] in OUTCOMES
    assert stats["arm"] == arm and stats["seed"] == seed and stats["depth"] == crash_depth
    if stats["outcome"] in ("ok", "crashed", "inconclusive"):
        assert stats["crashed"] == bool(stats["reasons"])
