"""Wald's SPRT on the crash indicator: its boundaries from the definition, its error rates by exact dynamic
programming and by simulation of the depth decision."""

import math

import numpy as np
import pytest

from harness.study.decisions import depth_decision
from harness.study.design import Design
from harness.study.sprt import CRASHY, STABLE, Sprt


def test_boundaries_and_steps_follow_walds_definition():
    sprt = Sprt(p0=0.05, p1=0.30, alpha=0.05, beta=0.20)
    assert sprt.upper == pytest.approx(math.log(0.8 / 0.05)) and sprt.lower == pytest.approx(math.log(0.2 / 0.95))
    assert sprt.step(True) == pytest.approx(math.log(0.30 / 0.05))
    assert sprt.step(False) == pytest.approx(math.log(0.70 / 0.95))


def test_a_depth_that_never_crashes_is_stable_after_exactly_six_ok_runs_and_two_crashes_are_crashy():
    sprt = Sprt()
    assert sprt.walk([False] * 5) == (None, 5, pytest.approx(5 * math.log(0.70 / 0.95)))
    assert sprt.walk([False] * 20)[:2] == (STABLE, 6)
    assert sprt.walk([True, True, False])[:2] == (CRASHY, 2)
    decision, used, llr = sprt.walk([False, True, False, True])   # 2 · 1.79 − 2 · 0.31 = 2.97 ≥ 2.77
    assert (decision, used) == (CRASHY, 4) and llr == pytest.approx(2 * math.log(6) + 2 * math.log(0.70 / 0.95))
    assert sprt.walk([False, False, False, True])[0] is None        # −0.92 + 1.79: between the boundaries


def _exact_operating_characteristic(sprt: Sprt, rate: float, budget: int) -> dict:
    """P(crashy), P(stable), P(undecided) and the expected runs of the SPRT truncated at `budget`, by dynamic
    programming over (runs, crashes) with the log-likelihood ratio written out from its definition."""
    alive = {0: 1.0}  # crashes → probability of still walking after n runs
    result = {CRASHY: 0.0, STABLE: 0.0, "undecided": 0.0, "runs": 0.0}
    for runs in range(1, budget + 1):
        step = {}
        for crashes, probability in alive.items():
            for crashed, weight in ((True, rate), (False, 1 - rate)):
                step[crashes + crashed] = step.get(crashes + crashed, 0.0) + probability * weight
        alive = {}
        for crashes, probability in step.items():
            llr = crashes * math.log(sprt.p1 / sprt.p0) + (runs - crashes) * math.log((1 - sprt.p1) / (1 - sprt.p0))
            if llr >= math.log((1 - sprt.beta) / sprt.alpha):
                result[CRASHY] += probability
                result["runs"] += probability * runs
            elif llr <= math.log(sprt.beta / (1 - sprt.alpha)):
                result[STABLE] += probability
                result["runs"] += probability * runs
            else:
                alive[crashes] = probability
    result["undecided"] = sum(alive.values())
    result["runs"] += result["undecided"] * budget
    return result


def test_error_rates_stay_within_alpha_and_beta():
    design = Design()
    at_p0 = _exact_operating_characteristic(design.sprt, design.p0, design.max_seeds)
    at_p1 = _exact_operating_characteristic(design.sprt, design.p1, design.max_seeds)
    assert at_p0[CRASHY] <= design.alpha and at_p1[STABLE] <= design.beta
    assert 7 <= at_p1["runs"] <= 9   # flagged crashy in about 8 runs on average at P_crash 0.30
    assert at_p1[CRASHY] >= 0.75


@pytest.mark.parametrize("rate", [0.05, 0.2, 0.3])
def test_the_depth_decision_has_the_exact_operating_characteristic_by_simulation(rate):
    design, draws = Design(), 3000
    rng = np.random.default_rng(20260128)
    decisions = [depth_decision(4, ["crashed" if c else "ok" for c in rng.random(design.max_seeds) < rate], design)
                 for _ in range(draws)]
    exact = _exact_operating_characteristic(design.sprt, rate, design.max_seeds)
    for outcome in (CRASHY, STABLE, "undecided"):
        share = np.mean([d.decision == outcome for d in decisions])
        assert abs(share - exact[outcome]) <= 4 * math.sqrt(exact[outcome] * (1 - exact[outcome]) / draws) + 1e-9
    assert np.mean([d.seeds_used for d in decisions]) == pytest.approx(exact["runs"], rel=0.05)
