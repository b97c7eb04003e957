"""Crash-free survival over epochs with censoring: Kaplan–Meier, exact 95 % bands, runs at risk, the cumulative
incidence of each crash reason, and an exact permutation log-rank test.

A crashed run fails at its onset epoch (its last epoch when no onset was recorded); an ok run is censored at
its last epoch, and so is a run interrupted by a stop request (it is still running, as far as anyone knows). An
inconclusive run finished without a verdict: whether it crashed is unknown, not "not yet", so it is left out, as
from P_crash (counting it a survivor would bias survival up). oom and infeasible runs never trained: left out.

The band is Clopper–Pearson's on the effective sample size (Dorey and Korn): at each epoch the runs whose
binomial variance equals Greenwood's — S(1 − S)/V, or, where S is 0 or 1 and Greenwood's variance vanishes, the
runs observed through that epoch. Without censoring it is the exact binomial interval of the surviving share,
so it never collapses to zero width and covers at least its nominal level.
"""

from __future__ import annotations

from math import comb
from typing import Sequence

import numpy as np
from scipy import stats

from ..run.record import INTERRUPTED, RunRecord
from .statistics import BATCH, PERMUTATIONS, RANDOM_PERMUTATIONS


def failure_times(records: Sequence[RunRecord]) -> list[tuple[int, str | None]]:
    """(epoch, crash reason) per run that trained: the reason is None for a censored run."""
    times: list[tuple[int, str | None]] = []
    for record in records:
        if record.outcome == "crashed":
            times.append((record.onset_epoch or record.n_epochs or 1, (record.reasons or ("crashed",))[0]))
        elif record.outcome in ("ok", INTERRUPTED) and record.n_epochs:
            times.append((record.n_epochs, None))
    return times


def kaplan_meier(records: Sequence[RunRecord], confidence: float = 0.95) -> dict:
    """Survival (not yet crashed) at the end of each epoch with its pointwise band, the runs at risk at the
    start of each epoch, the censored runs per epoch, and the cumulative incidence per crash reason
    (Aalen–Johansen; they add up to 1 − survival)."""
    times = failure_times(records)
    horizon = max((epoch for epoch, _ in times), default=0)
    epochs = list(range(1, horizon + 1))
    empty = {"runs": len(times), "epochs": epochs, "survival": [], "low": [], "high": [], "at_risk": [],
             "censored": [], "crashes": [], "incidence": {}, "p_crash": None, "ci95": None}
    if not times:
        return empty
    events = [epoch for epoch, reason in times if reason is not None]
    censored = [epoch for epoch, reason in times if reason is None]
    at_risk = [sum(epoch >= e for epoch, _ in times) for e in epochs]
    survival, low, high = _survival_with_band(epochs, at_risk, events, confidence)
    reasons = sorted({reason for _, reason in times if reason is not None})
    incidence: dict[str, list[float]] = {reason: [] for reason in reasons}
    before = 1.0
    running = dict.fromkeys(reasons, 0.0)
    for index, epoch in enumerate(epochs):
        for reason in reasons:
            failed = sum(1 for e, r in times if e == epoch and r == reason)
            running[reason] += before * failed / at_risk[index] if at_risk[index] else 0.0
            incidence[reason].append(running[reason])
        before = float(survival[index])
    return {**empty, "survival": survival, "low": low, "high": high, "at_risk": at_risk,
            "censored": [censored.count(e) for e in epochs], "crashes": [events.count(e) for e in epochs],
            "incidence": incidence, "p_crash": 1 - survival[-1], "ci95": [1 - high[-1], 1 - low[-1]]}


def _survival_with_band(epochs: list[int], at_risk: list[int], events: list[int],
                        confidence: float) -> tuple[list[float], list[float], list[float]]:
    """Kaplan–Meier's S at the end of each epoch and its band: Clopper–Pearson on the effective sample size."""
    survival, low, high = [], [], []
    estimate, greenwood, failed_before = 1.0, 0.0, 0
    for epoch, runs in zip(epochs, at_risk):
        deaths = events.count(epoch)
        if runs:
            estimate *= 1 - deaths / runs
            greenwood += deaths / (runs * (runs - deaths)) if runs > deaths else 0.0
        failed_before += deaths
        variance = estimate ** 2 * greenwood
        if 0 < estimate < 1 and variance > 0:
            effective = estimate * (1 - estimate) / variance
        else:   # Greenwood's variance vanishes: the runs observed through this epoch
            effective = float(runs - deaths + failed_before) if runs else float(failed_before)
        survival.append(float(estimate))
        band = _clopper_pearson_real(estimate * effective, effective, confidence)
        low.append(band[0])
        high.append(band[1])
    return survival, low, high


def _clopper_pearson_real(successes: float, trials: float, confidence: float) -> tuple[float, float]:
    """The exact binomial interval's beta quantiles, for a real number of trials (an effective sample size)."""
    if trials <= 0:
        return 0.0, 1.0
    tail = (1 - confidence) / 2
    failures = trials - successes
    lower = 0.0 if successes <= 1e-12 else float(stats.beta.ppf(tail, successes, failures + 1))
    upper = 1.0 if failures <= 1e-12 else float(stats.beta.ppf(1 - tail, successes + 1, failures))
    return lower, upper


def _one_run_p_value(scores: np.ndarray, size_a: int) -> float:
    """The two-sided permutation p-value when one group holds a single run: every relabelling enumerated (the lone
    run is any one of the pooled runs), p = 2·min(P(T ≤ t), P(T ≥ t)) capped at 1, as scipy defines it."""
    observed = scores[:size_a].sum()
    # group a's sum under each relabelling: the lone run's score, or the total less it when b is the lone group
    sums = scores if size_a == 1 else scores.sum() - scores
    tolerance = 1e-12 * max(1.0, abs(observed))
    less, greater = np.mean(sums <= observed + tolerance), np.mean(sums >= observed - tolerance)
    return float(min(1.0, 2 * min(less, greater)))


def logrank_scores(times: Sequence[tuple[int, str | None]]) -> np.ndarray:
    """Each run's log-rank score on the pooled data (failed − expected failures up to its time): the log-rank
    statistic of a group is the sum of its runs' scores, so permuting the labels permutes the scores."""
    epochs = np.array([epoch for epoch, _ in times])
    failed = np.array([reason is not None for _, reason in times])
    scores = np.zeros(len(times))
    for epoch in np.unique(epochs):
        at_risk = np.sum(epochs >= epoch)
        deaths = np.sum(failed & (epochs == epoch))
        scores[epochs >= epoch] -= deaths / at_risk
    return scores + failed


def permutation_logrank(a: Sequence[RunRecord], b: Sequence[RunRecord]) -> dict | None:
    """Two-sided permutation log-rank test between two arms: exact over every relabelling up to PERMUTATIONS,
    else RANDOM_PERMUTATIONS drawn with a fixed seed. None unless both arms have runs and one failed."""
    times_a, times_b = failure_times(a), failure_times(b)
    pooled = times_a + times_b
    if not times_a or not times_b or all(reason is None for _, reason in pooled):
        return None
    scores = logrank_scores(pooled)
    exact = comb(len(pooled), len(times_a)) <= PERMUTATIONS
    if min(len(times_a), len(times_b)) == 1:   # scipy wants two runs a group; one run's relabellings are few
        return {"statistic": float(scores[:len(times_a)].sum()), "p_value": _one_run_p_value(scores, len(times_a)),
                "exact": True, "runs": [len(times_a), len(times_b)]}
    result = stats.permutation_test((scores[:len(times_a)], scores[len(times_a):]),
                                    lambda x, y, axis: np.sum(x, axis=axis), permutation_type="independent",
                                    vectorized=True, alternative="two-sided",
                                    n_resamples=PERMUTATIONS if exact else RANDOM_PERMUTATIONS,
                                    batch=BATCH, rng=np.random.default_rng(0))
    return {"statistic": float(scores[:len(times_a)].sum()), "p_value": float(result.pvalue), "exact": exact,
            "runs": [len(times_a), len(times_b)]}
