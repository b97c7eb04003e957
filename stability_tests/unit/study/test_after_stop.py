"""The SPRT's estimate, interval and bound after it stopped, checked against their definitions by simulating
sessions through `depth_decision` (the code as a crash hunt runs it), fixed seeds."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.study.after_stop import after_stop, stopping_points
from harness.study.decisions import depth_decision
from harness.study.design import Design

SESSIONS = 2000


DEFAULT = Design()


def sessions(rate: float, design: Design = DEFAULT, seed: int = 7):
    rng = np.random.default_rng(seed)
    for _ in range(SESSIONS):
        outcomes = ["crashed" if crashed else "ok" for crashed in rng.random(design.max_seeds) < rate]
        yield depth_decision(4, outcomes, design).after_stop


@pytest.mark.parametrize("rate", [0.1, 0.3, 0.5])
def test_after_a_stop_the_interval_covers_and_the_estimates_are_unbiased_as_they_claim(rate):
    found = list(sessions(rate))
    assert all(found)
    covered = np.mean([low <= rate <= high for low, high in (f.interval for f in found)])
    assert covered >= 0.94
    # mean-unbiased: its average over sessions is the truth
    assert abs(np.mean([f.unbiased for f in found]) - rate) <= 0.02
    # median-unbiased: below the truth no more often than above it, and the reverse, as far as 21 stopping
    # points allow (at 0.1 the single point 0 of 6 already holds 0.53 of the sessions)
    below, above = np.mean([f.estimate < rate for f in found]), np.mean([f.estimate > rate for f in found])
    assert max(below, above) <= 0.56


def test_the_naive_fraction_is_biased_at_the_stop_which_is_why_it_is_labelled():
    found = list(sessions(0.3))
    assert np.mean([f.naive for f in found]) > 0.37        # the bias the estimates above remove


def test_stable_after_zero_of_six_is_bounded_by_the_exact_binomial_bound():
    # 0 of 6 is the walk's earliest stable exit, reachable one way only: P(T ≤ t | p) = (1 − p)⁶
    decision = depth_decision(4, ["ok"] * 6, Design())
    assert decision.decision == "stable"
    assert decision.after_stop.upper_bound == pytest.approx(1 - 0.05 ** (1 / 6), abs=1e-6)


def test_crashy_after_two_of_two_has_the_exact_lower_limit():
    # 2 of 2 is the top of the order: P(T ≥ t | p) = p², so the lower 97.5 % limit is √0.025
    found = depth_decision(4, ["crashed", "crashed"], Design()).after_stop
    assert found.interval[0] == pytest.approx(math.sqrt(0.025), abs=1e-6) and found.interval[1] == 1.0


@settings(max_examples=30, deadline=None)
@given(p0=st.floats(0.01, 0.2), gap=st.floats(0.1, 0.5), budget=st.integers(3, 30))
def test_the_stopping_points_carry_all_the_probability(p0, gap, budget):
    design = Design(p0=p0, p1=min(p0 + gap, 0.95), max_seeds=budget)
    for rate in (0.05, 0.4, 0.9):
        total = sum(point.paths * rate ** point.crashes * (1 - rate) ** (point.runs - point.crashes)
                    for point in stopping_points(design.sprt, budget))
        assert total == pytest.approx(1.0, abs=1e-9)


def test_unclassified_runs_shrink_the_budget_the_stopping_rule_had():
    design = Design()
    with_oom = depth_decision(4, ["oom"] * 2 + ["crashed"] * 2, design).after_stop
    assert with_oom == after_stop(design.sprt, 2, 2, design.max_seeds - 2)
