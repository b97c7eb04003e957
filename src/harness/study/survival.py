"""Crash-free survival over epochs with censoring: Kaplan–Meier (scipy.stats.ecdf on CensoredData), 95 %
bands, runs at risk, the cumulative incidence of each crash reason, and an exact permutation log-rank test.

A crashed run fails at its onset epoch (its last epoch when no onset was recorded); an ok run is censored at
its last epoch; an inconclusive run, or a run stopped before its end, at its last trained epoch. oom and
infeasible runs never trained: a property of the configuration, not of a seed, so they are left out.
"""

from __future__ import annotations

import warnings
from math import comb
from typing import Sequence

import numpy as np
from scipy import stats

from ..run.record import UNRECORDED, RunRecord
from .statistics import BATCH, PERMUTATIONS, RANDOM_PERMUTATIONS


def failure_times(records: Sequence[RunRecord]) -> list[tuple[int, str | None]]:
    """(epoch, crash reason) per run that trained: the reason is None for a censored run."""
    times: list[tuple[int, str | None]] = []
    for record in records:
        if record.outcome == "crashed":
            times.append((record.onset_epoch or record.n_epochs or 1, (record.reasons or ("crashed",))[0]))
        elif record.outcome in ("ok", "inconclusive", *UNRECORDED) and record.n_epochs:
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
    if events:
        curve = stats.ecdf(stats.CensoredData(uncensored=events, right=censored)).sf
        with warnings.catch_warnings():  # Greenwood's band is undefined where survival is 0 or 1: no width there
            warnings.simplefilter("ignore", RuntimeWarning)
            band = curve.confidence_interval(confidence)
        survival = curve.evaluate(epochs)
        low, high = band.low.evaluate(epochs), band.high.evaluate(epochs)
        low, high = np.where(np.isnan(low), survival, low), np.where(np.isnan(high), survival, high)
    else:  # nothing failed: survival is 1 and its band has no width
        survival = low = high = np.ones(len(epochs))
    at_risk = [sum(epoch >= e for epoch, _ in times) for e in epochs]
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
    return {**empty, "survival": [float(v) for v in survival], "low": [float(v) for v in np.clip(low, 0, 1)],
            "high": [float(v) for v in np.clip(high, 0, 1)], "at_risk": at_risk,
            "censored": [censored.count(e) for e in epochs], "crashes": [events.count(e) for e in epochs],
            "incidence": incidence, "p_crash": 1 - float(survival[-1]),
            "ci95": [1 - float(np.clip(high[-1], 0, 1)), 1 - float(np.clip(low[-1], 0, 1))] if events else None}


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
