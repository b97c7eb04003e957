"""Exact statistics against scipy, published examples and their definitions."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from harness.study.statistics import (
    boschloo_exact,
    clopper_pearson,
    fisher_exact,
    holm,
    mcnemar_exact,
    newcombe_interval,
    sign_flip_test,
)


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


def test_boschloo_on_the_table_a_three_seed_design_can_at_best_reach():
    assert boschloo_exact(3, 3, 0, 3) == pytest.approx(0.03125, abs=1e-6)   # 2 · (1/2)^6 at the nuisance rate 1/2
    assert fisher_exact(3, 3, 0, 3) == pytest.approx(0.1)
    assert mcnemar_exact(3, 0) == pytest.approx(0.25)


def _doubled_fisher(x_a, n_a, x_b, n_b):
    table = [[x_a, n_a - x_a], [x_b, n_b - x_b]]
    return min(1.0, 2 * min(stats.fisher_exact(table, alternative=side)[1] for side in ("less", "greater")))


@pytest.mark.parametrize("most", [4, pytest.param(8, marks=pytest.mark.integration)])
def test_boschloo_is_never_above_fisher_on_any_small_table(most):
    """Boschloo uses Fisher's p-value as its statistic and maximises over the nuisance rate, so each one-sided
    p-value is at most Fisher's; two-sided both are doubled. (Against scipy's two-sided Fisher, which sums the
    tables as unlikely as the observed one, Boschloo is larger on some tables: a different two-sided rule.)"""
    for n_a in range(1, most + 1):
        for n_b in range(1, most + 1):
            for x_a in range(n_a + 1):
                for x_b in range(n_b + 1):
                    assert boschloo_exact(x_a, n_a, x_b, n_b) <= _doubled_fisher(x_a, n_a, x_b, n_b) + 1e-9


@settings(max_examples=40, deadline=None)
@given(n_a=st.integers(1, 12), n_b=st.integers(1, 12), data=st.data())
def test_boschloo_is_scipys_for_any_table(n_a, n_b, data):
    x_a, x_b = data.draw(st.integers(0, n_a)), data.draw(st.integers(0, n_b))
    expected = stats.boschloo_exact([[x_a, x_b], [n_a - x_a, n_b - x_b]], alternative="two-sided").pvalue
    assert boschloo_exact(x_a, n_a, x_b, n_b) == pytest.approx(min(1.0, expected), rel=1e-4, abs=1e-9)


def test_newcombe_interval_on_his_published_example():
    # Newcombe (1998), Statistics in Medicine 17:873, example (a): 56/70 − 48/80, method 10: 0.0524 to 0.3339
    assert newcombe_interval(56, 70, 48, 80) == pytest.approx([0.0524, 0.3339], abs=1e-4)
    assert newcombe_interval(0, 10, 0, 10)[0] < 0 < newcombe_interval(0, 10, 0, 10)[1]
    assert newcombe_interval(1, 0, 0, 3) is None


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=6))
def test_holm_rejects_exactly_as_the_step_down_procedure(p_values):
    adjusted = holm(p_values)
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    for alpha in (0.01, 0.05, 0.2):
        rejected, stepping = set(), True
        for rank, index in enumerate(order):
            stepping = stepping and p_values[index] <= alpha / (len(p_values) - rank)
            if stepping:
                rejected.add(index)
        assert {i for i, p in enumerate(adjusted) if p <= alpha} == rejected


def test_holm_keeps_the_family_wise_error_rate_by_simulation():
    rng = np.random.default_rng(7)
    draws = rng.uniform(size=(20000, 3))  # three true nulls
    falsely = np.mean([min(holm(list(row))) <= 0.05 for row in draws])
    assert falsely <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / 20000)


def test_sign_flip_test_counts_every_sign_assignment():
    result = sign_flip_test([0.1, 0.2, 0.3, 0.05])   # all positive: 2 of 16 assignments are as extreme
    assert result["p_value"] == pytest.approx(2 / 16) and result["exact"] and result["pairs"] == 4
    result = sign_flip_test([0.1, -0.1, 0.2])  # sums 0.2, 0, 0.4, -0.2, 0.2, -0.4, 0, -0.2: 6 of 8 reach |0.2|
    assert result["p_value"] == pytest.approx(6 / 8)
    assert sign_flip_test([]) is None
