"""A process's study session: a case's run trained once, in its group, into the folder the ledger reads."""

from harness.run import OUTCOMES
from harness.study.definitions import load_studies
from harness.study.session import StudySession
from stability_tests.tiny import TINY_STUDIES


def test_a_case_trains_once_into_the_folder_its_ledger_reads_and_is_then_found_finished(tmp_path, cache_dir,
                                                                                       study_options, capsys):
    fixture = tmp_path / "studies.toml"
    fixture.write_text(TINY_STUDIES)
    options = study_options(**{"--runs-dir": str(tmp_path / "runs"), "--cache-dir": str(cache_dir), "--epochs": 1,
                               "--device": "cpu", "--logger": "none"})
    session = StudySession(options, load_studies(fixture))
    case = next(c for c in session.plan.cases("crash_hunt") if c.depth == 2)
    record = session.run(case, label=case.test_id)
    assert record.outcome in OUTCOMES and (record.depth, record.seed, record.n_epochs) == (2, case.seed, 1)
    assert session.ledger.record(case) == record
    log = (session.ledger.folder(case) / "progress.log").read_text()
    assert "epoch 1/1" in log
    assert not (session.ledger.folder(case) / "logs").exists()     # --logger none reached the launch
    assert f"[{case.test_id}] " in capsys.readouterr().err           # the same lines on the terminal, named
    again = StudySession(options, load_studies(fixture)).run(case, label=case.test_id)
    assert again.reused and again == record
    other = next(c for c in session.plan.cases("crash_hunt") if c.depth == 2 and c.seed != case.seed)
    logged = StudySession(study_options(**{**{"--runs-dir": str(tmp_path / "runs"), "--cache-dir": str(cache_dir),
                                              "--epochs": 1, "--device": "cpu"}}), load_studies(fixture))
    logged.run(other, label=other.test_id)
    assert (logged.ledger.folder(other) / "logs" / "csv" / "metrics.csv").is_file()   # the default: csv
