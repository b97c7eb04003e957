"""Kaplan–Meier with censoring, the cumulative incidence per crash reason, and the permutation log-rank test."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from harness.run.record import RunRecord
from harness.study.survival import kaplan_meier, permutation_logrank


def run(seed, outcome, n_epochs, onset=None, reasons=("nonfinite",), arm="control"):
    return RunRecord(study="shootout", arm=arm, architecture="hybrid", depth=4, seed=seed, outcome=outcome,
                     crashed=outcome == "crashed", reasons=tuple(reasons) if outcome == "crashed" else (),
                     onset_epoch=onset, n_epochs=n_epochs)


def test_the_worked_example_censors_interrupted_runs_instead_of_dropping_them():
    # 3 crashes at epoch 2, 3 runs stopped at epoch 10 (interrupted), 4 ok runs of 30 epochs
    records = ([run(s, "crashed", 30, onset=2) for s in range(3)] + [run(s, "interrupted", 10) for s in range(3, 6)]
               + [run(s, "ok", 30) for s in range(6, 10)])
    curve = kaplan_meier(records)
    assert curve["p_crash"] == pytest.approx(0.30)      # the classified-only fraction would be 3/7 = 0.43
    # Greenwood's variance at S = 0.7 is 0.49 · 3/(10 · 7) = 0.021: an effective sample of 10, so the band is the
    # exact binomial interval of 3 crashes in 10
    exact = stats.binomtest(3, 10).proportion_ci(confidence_level=0.95, method="exact")
    assert curve["ci95"] == pytest.approx([exact.low, exact.high])
    # an inconclusive run's outcome is unknown: left out, not a survivor
    unknown = kaplan_meier([*records[:3], *[run(s, "inconclusive", 30) for s in range(3, 10)]])
    assert unknown["runs"] == 3 and unknown["p_crash"] == pytest.approx(1.0)
    assert unknown["ci95"] == pytest.approx([stats.binomtest(3, 3).proportion_ci(method="exact").low, 1.0])
    assert curve["at_risk"][:3] == [10, 10, 7] and curve["censored"][9] == 3 and curve["censored"][29] == 4


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(1, 12)), min_size=1, max_size=15))
def test_without_censoring_before_the_end_it_is_the_surviving_fraction(failures):
    """Runs fail at the given epoch or are ok to the last epoch (12): the Kaplan–Meier curve is the plain share
    of runs not yet failed, epoch by epoch."""
    records = [run(s, "ok", 12) if epoch is None else run(s, "crashed", 12, onset=epoch)
               for s, epoch in enumerate(failures)]
    curve = kaplan_meier(records)
    for epoch, survival in zip(curve["epochs"], curve["survival"]):
        assert survival == pytest.approx(sum(f is None or f > epoch for f in failures) / len(failures))
    assert curve["p_crash"] == pytest.approx(sum(f is not None for f in failures) / len(failures))


def test_cumulative_incidence_splits_the_crashes_by_reason():
    records = [run(0, "crashed", 5, onset=1, reasons=("nonfinite",)), run(1, "crashed", 5, onset=3, reasons=("collapsed",)),
               run(2, "interrupted", 2), run(3, "ok", 5), run(4, "crashed", 5, onset=3, reasons=("collapsed", "degraded"))]
    curve = kaplan_meier(records)
    assert curve["incidence"]["nonfinite"][-1] == pytest.approx(1 / 5)
    assert curve["incidence"]["collapsed"][-1] == pytest.approx(4 / 5 * 2 / 3)   # 2 of 3 at risk at epoch 3
    assert sum(v[-1] for v in curve["incidence"].values()) == pytest.approx(1 - curve["survival"][-1])
    assert kaplan_meier([run(0, "oom", None), run(1, "infeasible", None)])["runs"] == 0


def test_the_permutation_log_rank_is_exact_where_the_asymptotic_one_is_not():
    crashed = [run(s, "crashed", 10, onset=2, arm="b") for s in range(3)] + [run(s, "ok", 10, arm="b") for s in range(3, 10)]
    healthy = [run(s, "ok", 10) for s in range(10)]
    result = permutation_logrank(crashed, healthy)
    # the crashes fall in one arm in 2 · C(10,3)/C(20,3) of the relabellings
    assert result["exact"] and result["p_value"] == pytest.approx(2 * 120 / 1140)
    asymptotic = stats.logrank(stats.CensoredData(uncensored=[2, 2, 2], right=[10] * 7),
                               stats.CensoredData(right=[10] * 10)).pvalue
    assert asymptotic == pytest.approx(0.067, abs=1e-3)   # what scipy's normal approximation would claim
    assert permutation_logrank(healthy, healthy) is None


def test_an_arm_with_one_run_gets_its_exact_permutation_p_value():
    lone = [run(1, "crashed", 1, onset=1, arm="agc")]
    others = [run(s, "ok", 5) for s in (1, 2, 3)]
    result = permutation_logrank(lone, others)
    # the lone run is, under relabelling, any of the 4 runs; its own (the earliest crash) is the most extreme of
    # the 4 sums: P(T ≥ t) = 1/4, two-sided p = 2 · 1/4
    assert result["p_value"] == pytest.approx(0.5) and result["runs"] == [1, 3] and result["exact"]
    assert permutation_logrank(others, lone)["p_value"] == pytest.approx(0.5)


@pytest.mark.parametrize("runs", [5, 10, 20])
def test_the_band_covers_at_its_level_with_and_without_censoring(runs):
    """Runs crash at a uniform epoch of 1..6 with probability p, else are ok to epoch 6; with censoring a third of
    the runs are also interrupted at a uniform epoch. The band of P_crash at epoch 6 covers p (fixed seed)."""
    import numpy as np

    rng = np.random.default_rng(runs)
    for censoring in (0.0, 1 / 3):
        coverage = []
        for p in (0.1, 0.3, 0.5, 0.7, 0.9):
            hits = 0
            for _ in range(300):
                records = []
                for seed in range(runs):
                    crash_epoch = int(rng.integers(1, 7)) if rng.random() < p else None
                    stop = int(rng.integers(1, 7)) if rng.random() < censoring else None
                    if crash_epoch is not None and (stop is None or crash_epoch <= stop):
                        records.append(run(seed, "crashed", 6, onset=crash_epoch))
                    elif stop is not None and stop < 6:
                        records.append(run(seed, "interrupted", stop))
                    else:
                        records.append(run(seed, "ok", 6))
                curve = kaplan_meier(records)
                low, high = curve["ci95"]
                hits += low <= p <= high
            coverage.append(hits / 300)
        assert min(coverage) >= (0.95 if censoring == 0 else 0.93), (censoring, coverage)
