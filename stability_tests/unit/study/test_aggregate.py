"""aggregate(records): counts, intervals, the crash-depth rule, survival and the arm comparisons (SPEC §7)."""

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
    assert summary["crash_depth"] == 6 and summary["profile"] == "quick"
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


def test_no_crash_means_no_crash_depth():
    assert aggregate([record(depth=4, seed=s) for s in (1, 2)])["crash_hunt"]["crash_depth"] is None


def test_shootout_arms_and_paired_comparisons():
    outcomes = {"control": ["crashed", "crashed", "crashed"], "layerscale": ["ok", "ok", "ok"],
                "adamw": ["crashed", "ok", "ok"]}
    records = [record("shootout", arm, 6, seed, outcome, ["nonfinite"] if outcome == "crashed" else [])
               for arm, results in outcomes.items() for seed, outcome in zip((1, 2, 3), results)]
    summary = aggregate(records)["shootout"]
    assert summary["depth"] == 6
    assert [a["arm"] for a in summary["arms"]] == ["control", "adamw", "layerscale"]
    arms = {a["arm"]: a for a in summary["arms"]}
    assert arms["control"]["p_crash"] == 1 and arms["layerscale"]["p_crash"] == 0
    comparisons = {(c["a"], c["b"]): c for c in summary["comparisons"]}
    control_vs_ls = comparisons[("control", "layerscale")]
    assert control_vs_ls["test"] == "mcnemar_exact" and control_vs_ls["p_value"] == pytest.approx(0.25)
    assert {tuple(sorted(row)) for row in summary["rows"]} and set(summary["rows"][0]) >= {
        "arm", "seed", "best_val_loss", "amp_ssim", "crashed", "reasons"}


def test_unpaired_arms_use_fisher():
    records = [record("shootout", "control", 6, s, "crashed", ["collapsed"]) for s in (1, 2, 3)]
    records += [record("shootout", "agc", 6, s, "ok") for s in (4, 5, 6)]
    (comparison,) = aggregate(records)["shootout"]["comparisons"]
    assert comparison["test"] == "fisher_exact" and comparison["p_value"] == pytest.approx(0.1)


def test_input_order_and_duplicates_do_not_matter():
    records = [record(depth=d, seed=s, outcome="crashed" if (d, s) == (6, 2) else "ok") for d in (4, 6) for s in (1, 2)]
    errors_then_done = [records[0].replace(outcome="error", crashed=False)] + records[::-1]
    assert aggregate(records) == aggregate(errors_then_done)


def test_json_report_records_and_failures(tmp_path):
    import json

    from harness.study import records_from_json_report

    ok = record(depth=4, seed=1)
    report = {"tests": [
        {"nodeid": "s/test_crash_hunt.py::test_crash_hunt[depth4-seed1]", "outcome": "passed",
         "user_properties": [{"stability_record": ok.to_json(transient=True)}]},
        {"nodeid": "s/test_crash_hunt.py::test_crash_hunt[depth4-seed2]", "outcome": "failed",
         "user_properties": [{"stability_record": record(depth=4, seed=2).to_json(transient=True)}],
         "call": {"longrepr": "AssertionError: harness broke"}},
        {"nodeid": "s/test_crash_hunt.py::test_crash_hunt[depth6-seed3]", "outcome": "failed",
         "call": {"longrepr": "worker 'gw0' crashed while running"}},
        {"nodeid": "s/test_other.py::test_unrelated", "outcome": "failed"},
    ]}
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report))
    records = records_from_json_report(path, crash_hunt_arm="baseline")
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
    assert aggregate(records)["crash_hunt"]["crash_depth"] == 4
    only_inconclusive = [record(depth=4, seed=s, outcome="inconclusive") for s in (1, 2)]
    assert aggregate(only_inconclusive)["crash_hunt"]["crash_depth"] is None


def test_survival_numbers_equal_a_hand_count():
    records = [record("shootout", "control", 4, 1, "crashed", ["wrong_solution"], onset=1, n_epochs=6),
               record("shootout", "control", 4, 2, "crashed", ["degraded"], onset=4, n_epochs=6),
               record("shootout", "control", 4, 3, "crashed", ["nonfinite"], onset=3, n_epochs=3),
               record("shootout", "control", 4, 4, "ok", n_epochs=6),
               record("shootout", "control", 4, 5, "inconclusive", n_epochs=6)]
    (arm,) = aggregate(records)["shootout"]["arms"]
    curve = arm["survival"]
    # epoch:        1  2  3  4  5  6  — seed 1 fails at 1, seed 3 at 3, seed 2 at 4; seed 4 never; seed 5 not classified
    assert curve["epochs"] == [1, 2, 3, 4, 5, 6] and curve["runs"] == 4
    assert curve["surviving"] == [3, 3, 2, 1, 1, 1]
    assert curve["fraction"] == pytest.approx([0.75, 0.75, 0.5, 0.25, 0.25, 0.25])
    assert curve["fraction"][-1] == pytest.approx(1 - arm["p_crash"])
    assert aggregate([record(outcome="inconclusive")])["crash_hunt"]["depths"][0]["survival"] == {
        "runs": 0, "epochs": [], "surviving": [], "fraction": []}


def test_arms_without_classified_runs_are_not_compared():
    records = [record("shootout", "control", 4, s, "inconclusive") for s in (1, 2)]
    records += [record("shootout", "agc", 4, s, "ok") for s in (1, 2)]
    (comparison,) = aggregate(records)["shootout"]["comparisons"]
    assert comparison["test"] == "none" and comparison["p_value"] is None
