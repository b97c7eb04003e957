"""Decisions from outcomes in plan order: pending until the next seed is in, undecided with its reason,
and a fixed design's exact tests with what its seeds can reach."""

import pytest

from harness.run.record import RunRecord
from harness.study.decisions import depth_decision, shootout_decisions
from harness.study.design import Design

FIXED = Design(design="fixed")


def test_a_gap_in_the_plan_holds_the_decision_whatever_finished_after_it():
    outcomes = ["crashed", None, "crashed", "crashed"]
    assert depth_decision(4, outcomes, Design()).decision == "pending"
    assert depth_decision(4, ["crashed", "ok", "crashed"], Design()).seeds_used == 3


def test_mostly_unclassified_runs_end_a_depth_undecided_with_advice():
    assert depth_decision(8, ["inconclusive", "ok", "inconclusive"] + [None] * 17, Design()).decision == "pending"
    decision = depth_decision(8, ["inconclusive", "ok", "inconclusive", "inconclusive"] + [None] * 16, Design())
    assert decision.decision == "undecided" and decision.seeds_used == 4
    assert "3 of 4 runs unclassified (3 inconclusive)" in decision.why and "paper profile" in decision.why
    assert depth_decision(8, ["oom"] * 3, Design()).why.endswith("or a larger device")


def test_a_fixed_design_says_what_its_seeds_can_reach():
    three_ok = depth_decision(4, ["ok"] * 3, FIXED)
    assert three_ok.decision == "undecided"
    assert three_ok.smallest_p == pytest.approx(0.7 ** 3) and three_ok.seeds_for_power == 5
    assert "p = 0.34 at best" in three_ok.why and "needs 5 seeds" in three_ok.why
    assert depth_decision(4, ["ok"] * 5, FIXED).decision == "stable"          # 0.7^5 = 0.168 ≤ β 0.2
    assert depth_decision(4, ["crashed"] * 2 + ["ok"], FIXED).decision == "crashy"   # P(≥2 | 0.05, 3) = 0.007


def record(arm, seed, outcome):
    return RunRecord(study="shootout", arm=arm, architecture="hybrid", depth=4, seed=seed, outcome=outcome,
                     crashed=outcome == "crashed")


def test_a_fixed_shootout_states_its_power():
    by_arm = {"control": [record("control", s, "crashed" if s == 1 else "ok") for s in (1, 2, 3)],
              "agc": [record("agc", s, "ok") for s in (1, 2, 3)]}
    (result,) = shootout_decisions(by_arm, [1, 2, 3], FIXED, "control").values()
    assert result.decision == "difference not shown" and result.look == 1
    assert "3 seeds per arm can reach p = 0.031 at best" in result.why
    assert "80 % power at the observed rates needs 19 seeds per arm" in result.why


def test_two_unclassified_runs_before_the_crashes_do_not_end_a_depth():
    decision = depth_decision(6, ["oom", "oom", "crashed", "crashed", "crashed"], Design())
    assert decision.decision == "crashy" and decision.seeds_used == 4


def test_a_fixed_design_between_p0_and_p1_is_neither_crashy_nor_stable():
    decision = depth_decision(4, ["crashed"] * 5 + ["ok"] * 25, FIXED)      # 5 of 30: above p0 0.05, below p1 0.30
    assert decision.decision == "undecided" and "lies between p0 0.05 and p1 0.3" in decision.why
    assert depth_decision(4, ["crashed"] * 9 + ["ok"] * 21, FIXED).decision == "crashy"   # 9 of 30 = p1
    assert depth_decision(4, ["ok"] * 30, FIXED).decision == "stable"


def test_a_shootout_planned_for_fewer_seeds_than_its_budget_ends_when_they_are_in():
    def records(arm, crashes):
        return [RunRecord(study="shootout", arm=arm, architecture="hybrid", depth=4, seed=seed,
                          outcome="crashed" if seed in crashes else "ok", crashed=seed in crashes) for seed in range(12)]

    seeds = list(range(12))
    results = shootout_decisions({"control": records("control", {0, 5}), "agc": records("agc", {1, 2})}, seeds,
                                 Design(futility=0.0), "control")
    assert results["agc"].decision == "difference not shown" and results["agc"].seeds == 12, results["agc"]
