"""aggregate(records): counts, intervals, the crash-depth rule, survival and the arm comparisons."""

import pytest
from scipy import stats

from harness.run.record import RunRecord
from harness.study.aggregate import aggregate


def record(study="crash_hunt", arm="control", depth=4, seed=1, outcome="ok", reasons=(), onset=None, n_epochs=5):
    return RunRecord(study=study, arm=arm, architecture="hybrid", depth=depth, seed=seed, outcome=outcome,
                     crashed=outcome == "crashed", reasons=tuple(reasons), best_val_loss=0.1, amp_ssim=0.6,
                     onset_epoch=onset, n_epochs=n_epochs, profile="quick")


def test_crash_hunt_counts_rule_and_exclusions():
    records = [
        record(depth=4, seed=1), record(depth=4, seed=2), record(depth=4, seed=3),
        record(depth=6, seed=1, outcome="crashed", reasons=["collapsed"]), record(depth=6, seed=2),
        record(depth=6, seed=3, outcome="oom"),
        *[record(depth=8, seed=s, outcome="infeasible") for s in (1, 2, 3)],
        record(depth=10, seed=1, outcome="error"),
    ]
    summary = aggregate(records)["crash_hunt"]
    by_depth = {d["depth"]: d for d in summary["depths"]}
    # one crash in two runs decides nothing; the old "any crash" rule is kept beside, labelled
    assert summary["crash_depth"] is None and summary["any_crash_depth"]["depth"] == 6
    assert summary["profile"] == "quick"
    assert by_depth[6]["decision"]["decision"] == "undecided" and "budget of 3 seeds spent" in by_depth[6]["decision"]["why"]
    assert by_depth[8]["decision"]["decision"] == "undecided"
    more_planned = aggregate(records, seeds={"crash_hunt": [1, 2, 3, 4]})["crash_hunt"]["depths"]
    assert more_planned[1]["decision"]["decision"] == "pending"  # depth 6 waits for seed 4
    assert "3 infeasible" in by_depth[8]["decision"]["why"]
    assert by_depth[4]["runs"] == 3 and by_depth[4]["crashes"] == 0 and by_depth[4]["p_crash"] == 0
    assert by_depth[6]["runs"] == 2 and by_depth[6]["crashes"] == 1 and by_depth[6]["oom"] == 1  # oom not in denominator
    exact = stats.binomtest(1, 2).proportion_ci(confidence_level=0.95, method="exact")
    assert by_depth[6]["ci95"] == pytest.approx([exact.low, exact.high])
    assert by_depth[8]["runs"] == 0 and by_depth[8]["p_crash"] is None and by_depth[8]["infeasible"] == 3
    assert by_depth[10]["errors"] == 1 and by_depth[10]["runs"] == 0
    assert [s["seed"] for s in by_depth[6]["seeds"]] == [1, 2, 3]
    assert aggregate(records)["shootout"] is None


def test_unfinished_runs_count_as_crashes_only_when_asked():
    records = [record(depth=6, seed=1), record(depth=6, seed=2, outcome="oom")]
    assert aggregate(records)["crash_hunt"]["depths"][0]["p_crash"] == 0
    counted = aggregate(records, count_unfinished_as_crash=True)["crash_hunt"]["depths"][0]
    assert counted["runs"] == 2 and counted["crashes"] == 1


def test_the_crash_depth_is_the_shallowest_of_the_crashy_depths_counted_from_the_deepest():
    crashing = [record(depth=d, seed=s, outcome="crashed", reasons=["nonfinite"], onset=1) for d in (6, 8) for s in (1, 2)]
    stable = [record(depth=4, seed=s) for s in range(1, 7)]
    summary = aggregate(crashing + stable)["crash_hunt"]
    assert summary["crash_depth"] == 6
    bound = 1 - 0.05 ** (1 / 6)   # six ok runs, the earliest stop: (1 − p)⁶ = 0.05
    assert summary["decisions"][0] == (f"depth 4: stable (0 of 6 crashed, SPRT after 6 runs): P_crash < {bound:.2f} "
                                       "(one-sided 95 %, exact under the stopping rule)")
    assert [line[:len("depth 6: crashy (2 of 2 crashed, SPRT after 2 runs)")] for line in summary["decisions"][1:3]] == [
        "depth 6: crashy (2 of 2 crashed, SPRT after 2 runs)", "depth 8: crashy (2 of 2 crashed, SPRT after 2 runs)"]
    assert summary["decisions"][3].startswith("crash depth 6 (fixed sequence from the deepest depth (8 → 6 → 4) "
                                              "stopped at depth 4")
    assert aggregate(stable)["crash_hunt"]["crash_depth"] is None
    # a crashy depth below a stable one is not the crash depth: the sequence from the deepest stops at once
    deep_stable = [record(depth=8, seed=s) for s in range(1, 7)]
    broken = aggregate([r for r in crashing if r.depth == 6] + stable + deep_stable)["crash_hunt"]
    assert broken["crash_depth"] is None
    assert "depth 6 was decided crashy on its own" in broken["decisions"][3]


def test_shootout_compares_each_arm_with_the_control_on_the_planned_seeds():
    crashy = ["crashed" if s % 2 else "ok" for s in range(1, 21)]
    records = [record("shootout", "control", 6, s, outcome, ["nonfinite"] * (outcome == "crashed"), onset=2)
               for s, outcome in zip(range(1, 21), crashy)]
    records += [record("shootout", "agc", 6, s, "ok") for s in range(1, 21)]
    records += [record("shootout", "adamw", 6, s, outcome, ["nonfinite"] * (outcome == "crashed"), onset=2)
                for s, outcome in zip(range(1, 21), crashy)]
    summary = aggregate(records)["shootout"]
    assert summary["depth"] == 6 and [a["arm"] for a in summary["arms"]] == ["control", "adamw", "agc"]
    comparisons = {c["a"]: c for c in summary["comparisons"]}
    assert set(comparisons) == {"adamw", "agc"} and {c["b"] for c in comparisons.values()} == {"control"}
    agc = comparisons["agc"]
    assert agc["decision"] == "fewer crashes" and agc["risk_difference"] < 0
    assert agc["ci95"][0] <= agc["risk_difference"] <= agc["ci95"][1] < 0
    table = [[agc["crashes"], agc["control_crashes"]],
             [agc["runs"] - agc["crashes"], agc["control_runs"] - agc["control_crashes"]]]
    assert agc["p_value"] == pytest.approx(stats.boschloo_exact(table).pvalue, rel=1e-4)
    assert agc["p_value"] <= agc["level"]
    assert comparisons["adamw"]["decision"] == "difference not shown (futility stop)"
    assert summary["decisions"][0].startswith("adamw vs control: difference not shown (futility stop)")
    assert agc["logrank"]["p_value"] < 0.05 and agc["quality"]["pairs"] == 20


def test_input_order_and_duplicates_do_not_matter():
    records = [record(depth=d, seed=s, outcome="crashed" if (d, s) == (6, 2) else "ok") for d in (4, 6) for s in (1, 2)]
    errors_then_done = [records[0].replace(outcome="error", crashed=False)] + records[::-1]
    assert aggregate(records) == aggregate(errors_then_done)


def test_json_report_records_and_failures(tmp_path):
    import json

    from harness.study import records_from_json_report

    ok = record(depth=4, seed=1)
    case = lambda depth, seed: {"stability_case": {"study": "crash_hunt", "arm": "baseline", "depth": depth,  # noqa: E731
                                                   "seed": seed}}
    report = {"tests": [
        {"nodeid": "s/test_crash_hunt.py::test_crash_hunt[depth4-seed1]", "outcome": "passed",
         "user_properties": [case(4, 1), {"stability_record": ok.to_json(transient=True)}]},
        {"nodeid": "s/test_crash_hunt.py::test_crash_hunt[depth4-seed2]", "outcome": "failed",
         "user_properties": [case(4, 2), {"stability_record": record(depth=4, seed=2).to_json(transient=True)}],
         "call": {"longrepr": "AssertionError: harness broke"}},
        {"nodeid": "s/test_crash_hunt.py::test_crash_hunt[depth6-seed3]", "outcome": "failed",
         "user_properties": [case(6, 3)], "call": {"longrepr": "worker 'gw0' crashed while running"}},
        {"nodeid": "s/test_other.py::test_unrelated", "outcome": "failed"},
    ]}
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report))
    records = records_from_json_report(path).records
    assert records[0] == ok
    assert [(r.arm, r.depth, r.seed, r.outcome) for r in records[1:]] == [("baseline", 4, 2, "error"),
                                                                          ("baseline", 6, 3, "error")]
    assert "harness broke" in records[1].message


def test_inconclusive_runs_are_listed_beside_p_crash_and_counted_only_when_asked():
    records = [record(depth=4, seed=1, outcome="crashed", reasons=["wrong_solution"], onset=1),
               record(depth=4, seed=2), record(depth=4, seed=3, outcome="inconclusive"),
               record(depth=6, seed=1, outcome="inconclusive"), record(depth=6, seed=2, outcome="oom")]
    depth4, depth6 = aggregate(records)["crash_hunt"]["depths"]
    assert (depth4["runs"], depth4["crashes"], depth4["inconclusive"]) == (2, 1, 1) and depth4["p_crash"] == 0.5
    assert (depth6["runs"], depth6["p_crash"], depth6["inconclusive"], depth6["oom"]) == (0, None, 1, 1)
    counted4, counted6 = aggregate(records, count_unfinished_as_crash=True)["crash_hunt"]["depths"]
    assert (counted4["runs"], counted4["crashes"]) == (3, 2)
    assert (counted6["runs"], counted6["crashes"], counted6["p_crash"]) == (2, 2, 1.0)
    assert aggregate(records)["crash_hunt"]["any_crash_depth"]["depth"] == 4
    only_inconclusive = [record(depth=4, seed=s, outcome="inconclusive") for s in (1, 2)]
    assert aggregate(only_inconclusive)["crash_hunt"]["crash_depth"] is None


def test_survival_is_kaplan_meier_with_unfinished_runs_censored():
    records = [record("shootout", "control", 4, 1, "crashed", ["wrong_solution"], onset=1, n_epochs=6),
               record("shootout", "control", 4, 2, "crashed", ["degraded"], onset=4, n_epochs=6),
               record("shootout", "control", 4, 3, "crashed", ["nonfinite"], onset=3, n_epochs=3),
               record("shootout", "control", 4, 4, "ok", n_epochs=6),
               record("shootout", "control", 4, 5, "interrupted", n_epochs=2),
               record("shootout", "control", 4, 6, "oom", n_epochs=None)]
    (arm,) = aggregate(records)["shootout"]["arms"]
    curve = arm["survival"]
    # failures at epochs 1, 3, 4; seed 5 censored after epoch 2, seed 4 after 6; the oom run left out
    assert curve["runs"] == 5 and curve["at_risk"] == [5, 4, 3, 2, 1, 1]
    expected = [4 / 5, 4 / 5, 4 / 5 * 2 / 3, 4 / 5 * 2 / 3 * 1 / 2, 4 / 15, 4 / 15]
    assert curve["survival"] == pytest.approx(expected)
    assert curve["censored"] == [0, 1, 0, 0, 0, 1] and curve["crashes"] == [1, 0, 1, 1, 0, 0]
    assert sum(values[-1] for values in curve["incidence"].values()) == pytest.approx(1 - curve["survival"][-1])
    assert aggregate([record(outcome="oom", n_epochs=None)])["crash_hunt"]["depths"][0]["survival"]["runs"] == 0


def test_arms_without_classified_runs_are_undecided_not_compared():
    records = [record("shootout", "control", 4, s, "inconclusive") for s in range(1, 6)]
    records += [record("shootout", "agc", 4, s, "ok") for s in range(1, 6)]
    (comparison,) = aggregate(records)["shootout"]["comparisons"]
    assert comparison["decision"] == "undecided" and comparison["p_value"] is None
    assert "5 of 5 control runs" in comparison["why"]


def test_a_crash_hunt_of_several_probes_decides_per_probe_side_by_side():
    from harness.study.report import crash_hunt_table

    records = [record(arm="control@disk", depth=4, seed=s, outcome="crashed", reasons=["wrong_solution"], onset=2)
               for s in (1, 2)]
    records += [record(arm="control@fzp", depth=4, seed=s) for s in range(1, 7)]
    summary = aggregate(records)["crash_hunt"]
    assert [(d["arm"], d["decision"]["decision"]) for d in summary["depths"]] == [("control@disk", "crashy"),
                                                                                ("control@fzp", "stable")]
    assert summary["crash_depths"] == {"control@disk": 4, "control@fzp": None} and summary["crash_depth"] is None
    assert summary["decisions"][0].startswith("control@disk depth 4: crashy (2 of 2 crashed, SPRT after 2 runs)")
    table = crash_hunt_table(summary)
    assert "| depth | control@disk | control@fzp |" in table
    assert "| 4 | crashy (2/2 crashed, P_crash 1.00) | stable (0/6 crashed, P_crash 0.00) |" in table


def test_an_infeasible_depth_never_counts_as_crashy_even_when_unfinished_runs_do():
    records = [record(depth=4, seed=s) for s in (1, 2, 3)] + [record(depth=8, seed=s, outcome="infeasible")
                                                                for s in (1, 2, 3)]
    summary = aggregate(records, count_unfinished_as_crash=True)["crash_hunt"]
    depth8 = next(d for d in summary["depths"] if d["depth"] == 8)
    assert depth8["decision"]["decision"] != "crashy" and depth8["crashes"] == 0 and summary["crash_depth"] is None
