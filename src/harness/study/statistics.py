"""Exact tests and intervals for crash counts and paired quality (scipy for the distributions)."""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Sequence

import numpy as np
from scipy import stats

PERMUTATIONS = 2**20          # up to this many (20 paired seeds), a permutation test enumerates them all (exact)
RANDOM_PERMUTATIONS = 10**5   # beyond it, this many drawn with a fixed seed (said so beside the p-value)
BATCH = 2**15                 # permutations evaluated at once (memory)


def clopper_pearson(crashes: int, runs: int, confidence: float = 0.95) -> list[float] | None:
    """Exact two-sided binomial interval for crashes/runs; None when there are no runs."""
    if runs == 0:
        return None
    alpha = 1 - confidence
    low = 0.0 if crashes == 0 else float(stats.beta.ppf(alpha / 2, crashes, runs - crashes + 1))
    high = 1.0 if crashes == runs else float(stats.beta.ppf(1 - alpha / 2, crashes + 1, runs - crashes))
    return [low, high]


def one_sided_upper(crashes: int, runs: int, confidence: float = 0.95) -> float:
    """Exact one-sided upper confidence bound for the rate (Clopper–Pearson): the p with P(X ≤ crashes | p) = 1 − c."""
    return 1.0 if crashes >= runs else float(stats.beta.ppf(confidence, crashes + 1, runs - crashes))


def mcnemar_exact(a_only: int, b_only: int) -> float:
    """Exact McNemar p-value: a two-sided binomial test on the discordant pairs."""
    discordant = a_only + b_only
    if discordant == 0:
        return 1.0
    return float(stats.binomtest(a_only, discordant, 0.5, alternative="two-sided").pvalue)


def fisher_exact(crashes_a: int, runs_a: int, crashes_b: int, runs_b: int) -> float:
    """Two-sided Fisher exact test on the 2×2 table of crashed / not crashed per arm."""
    table = [[crashes_a, runs_a - crashes_a], [crashes_b, runs_b - crashes_b]]
    return float(stats.fisher_exact(table, alternative="two-sided")[1])


def boschloo_exact(crashes_a: int, runs_a: int, crashes_b: int, runs_b: int) -> float:
    """Two-sided Boschloo exact test (scipy) on crashed / not crashed per arm: unconditional, so more powerful
    than Fisher's on the small tables of a study. 1.0 when an arm has no runs."""
    if runs_a == 0 or runs_b == 0:
        return 1.0
    # The test is symmetric under swapping the arms and swapping crashed with ok: one scipy call per class.
    variants = [(crashes_a, runs_a, crashes_b, runs_b), (crashes_b, runs_b, crashes_a, runs_a),
                (runs_a - crashes_a, runs_a, runs_b - crashes_b, runs_b),
                (runs_b - crashes_b, runs_b, runs_a - crashes_a, runs_a)]
    return _boschloo(*min(variants))


@lru_cache(maxsize=None)
def _boschloo(crashes_a: int, runs_a: int, crashes_b: int, runs_b: int) -> float:
    table = [[crashes_a, crashes_b], [runs_a - crashes_a, runs_b - crashes_b]]  # columns are the arms
    return min(1.0, float(stats.boschloo_exact(table, alternative="two-sided", n=32).pvalue))


COMPARISON_TESTS = {"boschloo": boschloo_exact, "fisher": fisher_exact}  # the registry and the valid names


def newcombe_interval(crashes_a: int, runs_a: int, crashes_b: int, runs_b: int,
                      confidence: float = 0.95) -> list[float] | None:
    """Newcombe's hybrid score interval (his method 10) for the risk difference P_a − P_b, from the two Wilson
    score intervals; None when an arm has no runs."""
    if runs_a == 0 or runs_b == 0:
        return None
    p_a, p_b = crashes_a / runs_a, crashes_b / runs_b
    low_a, high_a = _wilson(crashes_a, runs_a, confidence)
    low_b, high_b = _wilson(crashes_b, runs_b, confidence)
    difference = p_a - p_b
    return [difference - math.hypot(p_a - low_a, high_b - p_b), difference + math.hypot(high_a - p_a, p_b - low_b)]


def _wilson(successes: int, trials: int, confidence: float) -> tuple[float, float]:
    interval = stats.binomtest(successes, trials).proportion_ci(confidence_level=confidence, method="wilson")
    return float(interval.low), float(interval.high)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (family-wise error across the comparisons), in the input order."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted, running = [1.0] * len(p_values), 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


def sign_flip_test(differences: Sequence[float]) -> dict | None:
    """Two-sided paired test of the mean difference: every sign flip of the per-seed differences (exact up to
    PERMUTATIONS flips, else RANDOM_PERMUTATIONS drawn with a fixed seed). None without differences."""
    values = np.asarray(differences, dtype=float)
    if values.size == 0:
        return None
    if values.size == 1:   # its two sign flips have the same |mean|: p = 1 exactly
        return {"pairs": 1, "mean_difference": float(values[0]), "p_value": 1.0, "exact": True}
    exact = 2 ** values.size <= PERMUTATIONS
    result = stats.permutation_test((values,), lambda x, axis: np.mean(x, axis=axis), permutation_type="samples",
                                    vectorized=True, alternative="two-sided",
                                    n_resamples=PERMUTATIONS if exact else RANDOM_PERMUTATIONS,
                                    batch=BATCH, rng=np.random.default_rng(0))
    return {"pairs": int(values.size), "mean_difference": float(values.mean()), "p_value": float(result.pvalue),
            "exact": exact}


def binomial_tail(crashes: int, runs: int, rate: float, upper: bool) -> float:
    """P(X ≥ crashes) (upper) or P(X ≤ crashes) for X ~ Binomial(runs, rate): the one-sided exact p-value."""
    return float(stats.binom.sf(crashes - 1, runs, rate) if upper else stats.binom.cdf(crashes, runs, rate))
