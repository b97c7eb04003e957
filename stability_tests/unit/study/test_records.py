"""A study's records: each case's test id, an error record of a case that ended without one, and the records
of every finished run folder of the studies."""

import json

import pytest

from harness.errors import UsageError
from harness.run import RunFolder
from harness.run.record import RunRecord
from harness.study.records import StudyCase, error_record, merged, records_from_json_report, records_from_runs_dir


def test_a_cases_test_id_names_its_cell_and_seed():
    assert StudyCase("crash_hunt", "control", 6, 3).test_id == "depth6-seed3"
    assert StudyCase("crash_hunt", "control@fzp", 6, 3).test_id == "depth6@fzp-seed3"
    assert StudyCase("shootout", "layerscale", None, 3).test_id == "layerscale-seed3"
    case = StudyCase("shootout", "agc", 4, 9)
    assert StudyCase(**case.as_json()) == case


def test_a_case_without_a_record_is_an_error_never_a_crash():
    record = error_record(StudyCase("crash_hunt", "control", 4, 1), "x" * 900)
    assert (record.outcome, record.crashed, record.depth, record.seed) == ("error", False, 4, 1)
    assert len(record.message) == 500


def test_the_finished_folders_of_the_studies_are_read_and_nothing_else(tmp_path):
    def finished(study, arm, seed, outcome="ok"):
        folder = RunFolder(tmp_path / study / arm / f"depth4_seed{seed}")
        folder.path.mkdir(parents=True)
        folder.write_record(RunRecord(study=study, arm=arm, architecture="hybrid", depth=4, seed=seed,
                                      outcome=outcome, crashed=outcome == "crashed"))

    finished("crash_hunt", "control", 1)
    finished("shootout", "agc", 2, "crashed")
    finished("adhoc", "hybrid", 3)                                      # a `harness run`: no study's
    (tmp_path / "crash_hunt" / "control" / "depth4_seed9").mkdir()      # started, never finished
    found = records_from_runs_dir(tmp_path)
    records = found.records
    assert found.excluded == []
    assert [(r.study, r.arm, r.seed, r.outcome) for r in records] == [("crash_hunt", "control", 1, "ok"),
                                                                      ("shootout", "agc", 2, "crashed")]
    assert records[0].run_dir == str(tmp_path / "crash_hunt" / "control" / "depth4_seed1")


def _finished(root, study, arm, depth, seed, outcome="ok", **more):
    folder = RunFolder(root / study / arm / f"depth{depth}_seed{seed}")
    folder.path.mkdir(parents=True)
    folder.write_record(RunRecord(study=study, arm=arm, architecture="hybrid", depth=depth, seed=seed, outcome=outcome,
                                  crashed=outcome == "crashed", **more))
    return folder.path / "stats.json"


@pytest.mark.parametrize("damage, says", [
    (lambda text: text[: len(text) // 2], "is not JSON"),
    (lambda text: "", "is empty"),
    (lambda text: text.replace('"crashed": false', '"crashed": true'), "'crashed' is True while the outcome is 'ok'"),
    (lambda text: text.replace('"outcome": "ok"', '"outcome": "fine"'), "outcome 'fine' is none of ok, crashed"),
    (lambda text: text.replace('"seed": 2', '"seed": "2"'), "'seed' is '2', not of type <class 'int'>"),
    (lambda text: text.replace('"reasons": []', '"reasons": 3'), "'reasons' is 3"),
    (lambda text: "[1, 2]", "holds a JSON list, not a run record"),
])
def test_an_invalid_record_is_excluded_naming_its_file_and_why(tmp_path, damage, says):
    _finished(tmp_path, "crash_hunt", "control", 4, 1)
    stats = _finished(tmp_path, "crash_hunt", "control", 4, 2)
    stats.write_text(damage(stats.read_text()))
    found = records_from_runs_dir(tmp_path)
    assert [r.seed for r in found.records] == [1]
    (line,) = found.excluded
    assert line.startswith(str(stats)) and says in line, line


def test_a_record_of_another_cell_in_a_folder_is_excluded(tmp_path):
    stats = _finished(tmp_path, "crash_hunt", "control", 4, 1)
    elsewhere = tmp_path / "crash_hunt" / "control" / "depth6_seed1" / "stats.json"
    elsewhere.parent.mkdir()
    elsewhere.write_text(stats.read_text())                  # copied into depth 6's folder
    shootout = _finished(tmp_path, "shootout", "agc", 4, 2)
    moved = tmp_path / "crash_hunt" / "control" / "depth4_seed2" / "stats.json"
    moved.parent.mkdir()
    moved.write_text(shootout.read_text())                   # a shootout record in the crash hunt's folders
    found = records_from_runs_dir(tmp_path)
    assert [(r.study, r.depth, r.seed) for r in found.records] == [("crash_hunt", 4, 1), ("shootout", 4, 2)]
    assert len(found.excluded) == 2 and "not of the folder it is in (crash_hunt/control/depth6_seed1)" in found.excluded[1]


def test_runs_of_two_configurations_for_one_seed_are_refused_and_the_same_run_counted_once():
    def record(config_hash, outcome="ok"):
        return RunRecord(study="crash_hunt", arm="control", architecture="hybrid", depth=4, seed=1, outcome=outcome,
                         config_hash=config_hash)

    with pytest.raises(UsageError, match="runs_a runs_b: hold different configurations of crash_hunt control depth 4 "
                                         "seed 1 .config hash aaa and bbb."):
        merged([("runs_a", [record("aaa")]), ("runs_b", [record("bbb")])])
    assert merged([("a", [record("aaa")]), ("b", [record("aaa")])]) == [record("aaa")]
    error = error_record(StudyCase("crash_hunt", "control", 4, 1), "worker died")
    assert merged([("a", [error]), ("b", [record("aaa")])]) == [record("aaa")]    # a shard that errored, one that ran


def test_a_json_report_files_a_failed_test_under_the_arm_of_its_case_and_excludes_an_invalid_record(tmp_path):
    good = RunRecord(study="crash_hunt", arm="fno-vanilla", architecture="fno_vanilla", depth=4, seed=2, outcome="ok")
    bad = {**good.to_json(), "seed": 3, "outcome": "crashed"}        # crashed with crashed: false
    case = StudyCase("crash_hunt", "fno-vanilla", 4, 1).as_json()
    report = {"tests": [
        {"nodeid": "t::test_crash_hunt[depth4-seed1]", "outcome": "failed", "call": {"longrepr": "boom"},
         "user_properties": [{"stability_case": case}]},
        {"nodeid": "t::test_crash_hunt[depth4-seed2]", "outcome": "passed",
         "user_properties": [{"stability_record": good.to_json()}]},
        {"nodeid": "t::test_crash_hunt[depth4-seed3]", "outcome": "passed", "user_properties": [{"stability_record": bad}]},
    ]}
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report))
    found = records_from_json_report(path)
    assert [(r.arm, r.seed, r.outcome) for r in found.records] == [("fno-vanilla", 1, "error"), ("fno-vanilla", 2, "ok")]
    (line,) = found.excluded
    assert "depth4-seed3]: its record 'crashed' is False while the outcome is 'crashed'" in line
