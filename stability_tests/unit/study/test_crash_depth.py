"""The crash depth as an estimate: the family-wise error of the fixed sequence by simulation (fixed seed), and
the monotone fit against its definition."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.study.crash_depth import estimate_crash_depth
from harness.study.decisions import depth_decision
from harness.study.design import Design

DEPTHS = (4, 6, 8)


DEFAULT = Design()


def session(rates, rng, design=DEFAULT):
    decisions = []
    for depth, rate in zip(DEPTHS, rates):
        outcomes = ["crashed" if crashed else "ok" for crashed in rng.random(design.max_seeds) < rate]
        decisions.append(depth_decision(depth, outcomes, design))
    return decisions


@pytest.mark.integration
def test_three_stable_depths_give_a_crash_depth_at_most_alpha_of_the_time():
    rng = np.random.default_rng(11)
    found = [estimate_crash_depth(session((0.05, 0.05, 0.05), rng), 0.3) for _ in range(3000)]
    any_crash_depth = np.mean([f.depth is not None for f in found])
    any_depth_crashy = np.mean([f.shallowest_crashy is not None for f in found])
    assert any_crash_depth <= 0.05
    assert any_depth_crashy > 0.06       # the per-depth reading this replaces: each depth errs on its own


def test_only_a_depth_whose_deeper_neighbours_crash_can_be_the_crash_depth():
    design = Design()
    crashy, stable = ["crashed"] * 2, ["ok"] * 6
    found = estimate_crash_depth([depth_decision(4, crashy, design), depth_decision(6, stable, design),
                                  depth_decision(8, crashy, design)], design.p1)
    assert found.depth == 8 and found.stopped_at == 6 and found.shallowest_crashy == 4
    assert found.sequence == [8, 6]


def test_a_depth_undecided_for_unclassified_runs_is_passed_over_not_ending_the_sequence():
    design = Design()
    found = estimate_crash_depth([depth_decision(4, ["crashed"] * 2, design),
                                  depth_decision(6, ["crashed"] * 2, design),
                                  depth_decision(8, ["infeasible"] * 3, design)], design.p1)
    assert found.passed_over == [8] and found.depth == 4


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 20), st.floats(0, 1)), min_size=1, max_size=5))
def test_the_fit_is_the_closest_non_decreasing_curve_to_the_crash_fractions(rows):
    design = Design(design="fixed")
    decisions = []
    for index, (runs, share) in enumerate(rows):
        crashes = round(runs * share)
        decisions.append(depth_decision(2 * index + 2, ["crashed"] * crashes + ["ok"] * (runs - crashes), design))
    fit = np.array(list(estimate_crash_depth(decisions, design.p1).fit.values()))
    fractions = np.array([d.crashes / d.runs for d in decisions])
    weights = np.array([d.runs for d in decisions], dtype=float)
    assert np.all(np.diff(fit) >= -1e-12)                                           # monotone
    assert float(weights @ fit) == pytest.approx(float(weights @ fractions))       # pooling keeps the crashes
    # no other non-decreasing curve is closer: check against the pooled constant and the data when monotone
    distance = float(weights @ (fit - fractions) ** 2)
    pooled = np.full_like(fractions, weights @ fractions / weights.sum())
    assert distance <= float(weights @ (pooled - fractions) ** 2) + 1e-12
    if np.all(np.diff(fractions) >= 0):
        assert fit == pytest.approx(fractions)
