"""The design's operating characteristics, computed exactly, against simulations of the study's own decision
code (fixed seeds) and against scipy's test."""

import numpy as np
import pytest
from scipy import stats

from harness.study.decisions import depth_decision
from harness.study.design import Design
from harness.study.operating import (
    budget_for_power,
    crash_hunt_characteristics,
    shootout_characteristics,
)


@pytest.mark.integration
def test_the_crash_hunt_table_matches_sessions_of_the_decision_code():
    design, draws = Design(), 4000
    rng = np.random.default_rng(3)
    for row in crash_hunt_characteristics(design, (0.1, 0.2, 0.3)):
        found = [depth_decision(4, ["crashed" if c else "ok" for c in rng.random(20) < row.rate], design)
                 for _ in range(draws)]
        tolerance = 4 * np.sqrt(0.25 / draws)
        assert np.mean([f.decision == "stable" for f in found]) == pytest.approx(row.stable, abs=tolerance)
        assert np.mean([f.decision == "crashy" for f in found]) == pytest.approx(row.crashy, abs=tolerance)
        assert np.mean([f.runs for f in found]) == pytest.approx(row.expected_runs, abs=0.3)


def test_a_fixed_design_is_the_binomial_over_its_seeds():
    design = Design(design="fixed", max_seeds=10)
    row = crash_hunt_characteristics(design, (0.3,))[0]
    crashy_from = min(k for k in range(11) if depth_decision(4, ["crashed"] * k + ["ok"] * (10 - k), design).decision
                      == "crashy")
    assert row.crashy == pytest.approx(stats.binom.sf(crashy_from - 1, 10, 0.3)) and row.expected_runs == 10


def test_look_one_cannot_decide_with_three_arms_by_scipys_own_test():
    found = shootout_characteristics(Design().look_plan(), 0.0, 0.3, arms=3)
    smallest = min(stats.boschloo_exact([[a, c], [5 - a, 5 - c]], alternative="two-sided").pvalue
                   for a in range(6) for c in range(6))
    assert smallest > found.levels[0] and found.earliest_look == 2
    assert stats.boschloo_exact([[0, 8], [10, 2]], alternative="two-sided").pvalue <= found.levels[1]


@pytest.mark.integration
def test_power_falls_with_more_arms_and_rises_with_the_budget():
    plan = Design().look_plan()
    one, three = (shootout_characteristics(plan, 0.0, 0.3, arms).power for arms in (1, 3))
    assert three < one
    budget, found = budget_for_power(Design(), 0.8, 0.0, 0.3, 3)
    assert found.power >= 0.8 and budget > 20
    smaller = Design(max_seeds=budget - Design().batch).look_plan()
    assert shootout_characteristics(smaller, 0.0, 0.3, 3).power < 0.8


@pytest.mark.parametrize("shared", [0.05, 0.2, 0.5])
def test_equal_rates_are_called_different_at_most_at_the_arms_share_of_alpha(shared):
    found = shootout_characteristics(Design().look_plan(), shared, shared, arms=3)
    assert 0.0 <= found.rejected <= 0.05 / 3 and found.futile > 0.5 and found.expected_seeds < 20
