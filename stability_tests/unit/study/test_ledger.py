"""The ledger: what the run folders say — finished records checked against their configuration, the decisions
that skip seeds, and where the shootout runs."""

import json
import time

import pytest

from harness.run import RunFolder
from harness.run.record import RunRecord
from harness.study.definitions import load_studies
from harness.study.ledger import Ledger
from harness.study.plan import StudyPlan
from harness.study.records import StudyCase


def ledger_of(study_options, started=0.0, **given) -> Ledger:
    return Ledger(StudyPlan.of(study_options(**given), load_studies()), started=started)


def _finish(ledger, case, outcome):
    """A finished run folder for this case, as a training run leaves it (its stats.json, hash included)."""
    config = ledger.plan.config(case)
    folder = RunFolder(config.default_folder(ledger.runs_dir))
    folder.path.mkdir(parents=True, exist_ok=True)
    folder.write_record(RunRecord(study=case.study, arm=case.arm, architecture="hybrid", depth=case.depth,
                                  seed=case.seed, outcome=outcome, crashed=outcome == "crashed",
                                  reasons=("nonfinite",) * (outcome == "crashed"), n_epochs=3,
                                  config_hash=config.config_hash))


def test_a_shootout_skips_the_seeds_of_a_comparison_decided_at_an_earlier_look(study_options, tmp_path):
    ledger = ledger_of(study_options, **{"--runs-dir": str(tmp_path), "--arms": "control,agc,adamw", "--max-seeds": 20})
    seeds = ledger.plan.seeds("shootout")
    case = lambda arm, index: StudyCase("shootout", arm, 6, seeds[index])  # noqa: E731
    for index in range(10):  # 10 of 10 control runs crash, agc's never, adamw as the control
        _finish(ledger, case("control", index), "crashed")
        _finish(ledger, case("agc", index), "ok")
        _finish(ledger, case("adamw", index), "crashed")
    assert ledger.skip_reason(case("agc", 4)) is None          # a seed of a look already taken is never skipped
    reason = ledger.skip_reason(case("agc", 10))
    assert reason.startswith("agc vs control decided fewer crashes at look 2 (10 seeds): p = ")
    assert "adamw vs control decided difference not shown (futility stop)" in ledger.skip_reason(case("adamw", 10))
    assert ledger.skip_reason(case("control", 10)) is not None  # every comparison decided: the control too
    fixed = ledger_of(study_options, **{"--runs-dir": str(tmp_path), "--design": "fixed"})
    assert fixed.skip_reason(case("agc", 10)) is None
    other = ledger_of(study_options, **{"--runs-dir": str(tmp_path), "--epochs": 5, "--arms": "control,agc,adamw"})
    assert other.finished_records(case("agc", 0)) == []          # another configuration's folders are not read
    assert other.skip_reason(case("agc", 10)) is None


def test_a_record_is_its_folders_and_with_rerun_only_one_written_in_the_session(study_options, tmp_path):
    ledger = ledger_of(study_options, **{"--runs-dir": str(tmp_path)})
    case = ledger.plan.cases("crash_hunt")[0]
    assert ledger.record(case) is None
    _finish(ledger, case, "crashed")
    record = ledger.record(case)
    assert (record.outcome, record.seed, record.run_dir) == ("crashed", case.seed, str(ledger.folder(case).path))
    assert ledger.written_in_session(ledger.folder(case))          # started at 0: every record is this session's
    later = ledger_of(study_options, started=time.time() + 60, **{"--runs-dir": str(tmp_path), "--rerun": True})
    assert later.record(case) is None and not later.written_in_session(later.folder(case))
    assert ledger_of(study_options, started=time.time() + 60, **{"--runs-dir": str(tmp_path)}).record(case) == record


def _hunt_summary(reports, decisions: dict[int, str], crash_depth=None):
    reports.mkdir(parents=True, exist_ok=True)
    (reports / "crash_hunt_summary.json").write_text(json.dumps({
        "design": {}, "crash_depth": crash_depth, "decisions": [f"depth {d}: {v}" for d, v in decisions.items()],
        "depths": [{"depth": d, "decision": {"decision": v}} for d, v in decisions.items()]}))


@pytest.mark.parametrize("profile, expected", [("quick", 4), ("paper", 6)])
def test_with_no_crashy_depth_the_shootout_runs_at_the_deepest_stable_depth_every_arm_builds(
        study_options, tmp_path, profile, expected):
    _hunt_summary(tmp_path, {4: "stable", 6: "stable", 8: "undecided"})
    chosen = ledger_of(study_options, **{"--profile": profile, "--reports-dir": str(tmp_path)}).shootout_depth()
    assert chosen.depth == expected
    assert "decided no depth crashy" in chosen.why and f"depth {expected} is the deepest" in chosen.why
    if profile == "quick":  # N=32: depth 6 reaches 1×1 pixel, where the layerscale arm's normalisation is undefined
        assert "depth 6 was passed over: layerscale:" in chosen.why


def test_the_shootout_runs_at_the_crash_depth_and_without_a_stable_or_crashy_depth_asks_for_one(study_options, tmp_path):
    _hunt_summary(tmp_path / "crashy", {4: "stable", 6: "crashy"}, crash_depth=6)
    ledger = ledger_of(study_options, **{"--reports-dir": str(tmp_path / "crashy")})
    assert ledger.shootout_depth().depth == 6 and "crash depth" in ledger.shootout_depth().why
    _hunt_summary(tmp_path / "none", {4: "undecided", 6: "undecided"})
    with pytest.raises(LookupError, match="pass --crash-depth D"):
        ledger_of(study_options, **{"--reports-dir": str(tmp_path / "none")}).shootout_depth()
    given = ledger_of(study_options, **{"--crash-depth": 5, "--reports-dir": str(tmp_path / "none")})
    assert given.shootout_depth().depth == 5


def test_without_a_summary_the_crash_depth_comes_from_the_crash_hunts_run_folders(study_options, tmp_path):
    given = {"--runs-dir": str(tmp_path / "runs"), "--reports-dir": str(tmp_path / "reports"), "--depths": "4,6",
             "--design": "fixed", "--seeds": "1,2"}
    ledger = ledger_of(study_options, **given)
    for case in ledger.plan.cases("crash_hunt"):
        _finish(ledger, case, "crashed" if case.depth == 6 else "ok")
    with pytest.raises(LookupError, match="run `pytest -m crashhunt` first"):
        ledger_of(study_options, **{**given, "--depths": "4,6,8"}).shootout_depth()   # depth 8 not run: no decision
    assert ledger.shootout_depth().why == f"the crash hunt's crash depth (the crash hunt runs in {tmp_path / 'runs'})"
