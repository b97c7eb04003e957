"""Shootout: every arm × the same seeds at the crash depth. Each test records its verdict."""

import dataclasses

import pytest

from harness.run import OUTCOMES
from harness.study import RECORD_PROPERTY

pytestmark = [pytest.mark.slow, pytest.mark.shootout]


@pytest.fixture(scope="session")
def crash_depth(study_session):
    try:
        return study_session.shootout_depth().depth
    except LookupError as exc:
        pytest.fail(str(exc), pytrace=False)


def test_shootout(shootout_case, crash_depth, study_session, record_property, request):
    case = dataclasses.replace(shootout_case, depth=crash_depth)
    if (decided := study_session.skip_reason(case)) is not None:
        pytest.skip(decided)  # its comparison with the control is decided: this seed is not needed
    record = study_session.run(case, label=request.node.callspec.id)
    record_property(RECORD_PROPERTY, record.to_json(transient=True))
    assert record.outcome in OUTCOMES
    assert (record.arm, record.seed, record.depth) == (case.arm, case.seed, crash_depth)
    if record.outcome in ("ok", "crashed", "inconclusive"):
        assert record.crashed == bool(record.reasons)
