"""Exact statistics against scipy and known tables: Clopper–Pearson intervals, McNemar and Fisher."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from harness.study.statistics import clopper_pearson, fisher_exact, mcnemar_exact


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_clopper_pearson_matches_scipy(data):
    runs = data.draw(st.integers(1, 200))
    crashes = data.draw(st.integers(0, runs))
    low, high = clopper_pearson(crashes, runs)
    expected = stats.binomtest(crashes, runs).proportion_ci(confidence_level=0.95, method="exact")
    assert low == pytest.approx(expected.low, abs=1e-9) and high == pytest.approx(expected.high, abs=1e-9)


def test_known_intervals():
    assert clopper_pearson(0, 3) == pytest.approx([0.0, 0.7076], abs=1e-4)
    assert clopper_pearson(3, 3) == pytest.approx([0.2924, 1.0], abs=1e-4)
    assert clopper_pearson(1, 3) == pytest.approx([0.0084, 0.9057], abs=1e-4)
    assert clopper_pearson(0, 0) is None


def test_mcnemar_and_fisher_on_known_tables():
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(3, 0) == pytest.approx(0.25)          # 2 · 0.5³
    assert mcnemar_exact(5, 1) == pytest.approx(0.21875)       # 2 · (1 + 6) / 64
    assert fisher_exact(3, 3, 0, 3) == pytest.approx(0.1)      # 2 / C(6, 3)
    assert fisher_exact(1, 3, 1, 3) == pytest.approx(1.0)
