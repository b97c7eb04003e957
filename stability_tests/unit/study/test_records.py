"""A study's records: each case's test id, an error record of a case that ended without one, and the records
of every finished run folder of the studies."""

from harness.run import RunFolder
from harness.run.record import RunRecord
from harness.study.records import StudyCase, error_record, records_from_runs_dir


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
    records = records_from_runs_dir(tmp_path)
    assert [(r.study, r.arm, r.seed, r.outcome) for r in records] == [("crash_hunt", "control", 1, "ok"),
                                                                      ("shootout", "agc", 2, "crashed")]
    assert records[0].run_dir == str(tmp_path / "crash_hunt" / "control" / "depth4_seed1")
