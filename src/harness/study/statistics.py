"""Exact intervals and tests for crash counts (scipy for the distributions)."""

from __future__ import annotations

from scipy import stats


def clopper_pearson(crashes: int, runs: int, confidence: float = 0.95) -> list[float] | None:
    """Exact two-sided binomial interval for crashes/runs; None when there are no runs."""
    if runs == 0:
        return None
    alpha = 1 - confidence
    low = 0.0 if crashes == 0 else float(stats.beta.ppf(alpha / 2, crashes, runs - crashes + 1))
    high = 1.0 if crashes == runs else float(stats.beta.ppf(1 - alpha / 2, crashes + 1, runs - crashes))
    return [low, high]


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
