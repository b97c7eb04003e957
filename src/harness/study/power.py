"""What a fixed design can tell: the smallest p-value its seeds can reach and the seeds 80 % power would need.

Exact (binomial enumeration), for a depth's one-sample tests against p0 and p1 and for two arms compared by
Boschloo's test (its rejection region for a whole table size at once, on a fine grid of the nuisance rate).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import stats

TARGET_POWER = 0.80
MOST_SEEDS = 200          # a one-sample search stops here
MOST_SEEDS_PER_ARM = 60   # a two-arm search stops here
NUISANCE_GRID = np.linspace(0.0, 1.0, 801)


def seeds_to_show_crashy(rate: float, p0: float, alpha: float, target: float = TARGET_POWER) -> int | None:
    """Fewest runs for which the one-sided binomial test of P_crash ≤ p0 at level α rejects with the target
    probability when the true rate is `rate`; None when rate ≤ p0 or beyond MOST_SEEDS."""
    if rate <= p0:
        return None
    for runs in range(1, MOST_SEEDS + 1):
        above = np.nonzero(stats.binom.sf(np.arange(runs + 1) - 1, runs, p0) <= alpha)[0]  # P(X ≥ c | p0) ≤ α
        if above.size and stats.binom.sf(above[0] - 1, runs, rate) >= target:
            return runs
    return None


def seeds_to_show_stable(rate: float, p1: float, beta: float, target: float = TARGET_POWER) -> int | None:
    """Fewest runs for which the one-sided test of P_crash ≥ p1 at level β rejects (few crashes) with the
    target probability at the true rate; None when rate ≥ p1 or beyond MOST_SEEDS."""
    if rate >= p1:
        return None
    for runs in range(1, MOST_SEEDS + 1):
        below = np.nonzero(stats.binom.cdf(np.arange(runs + 1), runs, p1) <= beta)[0]
        if below.size and stats.binom.cdf(below[-1], runs, rate) >= target:
            return runs
    return None


@lru_cache(maxsize=None)
def boschloo_pvalues(runs: int) -> np.ndarray:
    """Two-sided Boschloo p-values of every table with `runs` per arm: [crashes_a, crashes_b]."""
    crashes = np.arange(runs + 1)
    a, b = np.meshgrid(crashes, crashes, indexing="ij")
    a, b = a.ravel(), b.ravel()  # type: ignore[assignment]  # the grid, flat
    pmf = stats.binom.pmf(crashes[None, :], runs, NUISANCE_GRID[:, None])       # [grid, crashes]
    null = pmf[:, a] * pmf[:, b]                                                # [grid, table]
    sides = []
    for fisher in (stats.hypergeom.sf(a - 1, 2 * runs, a + b, runs), stats.hypergeom.cdf(a, 2 * runs, a + b, runs)):
        order = np.argsort(fisher, kind="stable")
        cumulative = np.cumsum(null[:, order], axis=1)
        # every table as extreme as this one or more: up to the last tie of its Fisher p-value (ties within
        # rounding, as scipy counts them)
        last_tie = np.searchsorted(fisher[order], fisher * (1 + 1e-12), side="right") - 1
        sides.append(cumulative[:, last_tie].max(axis=0))
    return np.minimum(1.0, 2 * np.minimum(*sides)).reshape(runs + 1, runs + 1)


def two_arm_power(rate_a: float, rate_b: float, runs: int, level: float) -> float:
    """Probability that Boschloo's test rejects at `level` with `runs` per arm at the true rates."""
    reject = boschloo_pvalues(runs) <= level
    pmf_a = stats.binom.pmf(np.arange(runs + 1), runs, rate_a)
    pmf_b = stats.binom.pmf(np.arange(runs + 1), runs, rate_b)
    return float(pmf_a @ reject @ pmf_b)


def seeds_to_show_difference(rate_a: float, rate_b: float, level: float,
                             target: float = TARGET_POWER) -> int | None:
    """Fewest seeds per arm for the target power at these rates; None when they are equal or it would take
    more than MOST_SEEDS_PER_ARM."""
    if rate_a == rate_b:
        return None
    for runs in range(2, MOST_SEEDS_PER_ARM + 1):
        if two_arm_power(rate_a, rate_b, runs, level) >= target:
            return runs
    return None
