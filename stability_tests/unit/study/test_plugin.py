"""The study plugin end to end on real (tiny) training runs: pytester sessions, xdist, dead workers, shards."""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from harness.cli.main import main
from harness.study.plugin import SESSION_KEY
from stability_tests.tiny import TINY_STUDIES

pytest_plugins = ["pytester"]
# Each such test runs whole pytest sessions of the studies: in this process (pytester), or in subprocesses where
# processes are what it tests (signals, two sessions at once, the installed entry point, xdist workers).
SESSIONS = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]



@pytest.fixture
def study_dir(pytester, study_project):
    """A project with the real study tests and plugin, tiny study definitions and the smoke profile."""
    return study_project(pytester, TINY_STUDIES)


def _summary(reports: Path, name: str) -> dict:
    summary = json.loads((reports / name).read_text())
    summary.pop("environment")
    for group in summary.get("depths", []):
        for seed in group["seeds"]:
            seed.pop("run_dir")
    for row in summary.get("rows", []):
        row.pop("run_dir")
    return summary


@SESSIONS
def test_same_summary_with_and_without_xdist_and_reports_written(study_dir):
    common = ["-m", "crashhunt", "--profile", "smoke", "--runs-dir", "runs", "-p", "no:cacheprovider"]
    serial = study_dir.runpytest_inprocess(*common, "--reports-dir", "serial")
    serial.assert_outcomes(passed=6)
    parallel = study_dir.runpytest_inprocess(*common, "--reports-dir", "parallel", "-n", "2", "--rerun")
    parallel.assert_outcomes(passed=6)
    assert _summary(study_dir.path / "serial", "crash_hunt_summary.json") == _summary(
        study_dir.path / "parallel", "crash_hunt_summary.json")
    summary = _summary(study_dir.path / "serial", "crash_hunt_summary.json")
    assert [d["depth"] for d in summary["depths"]] == [2, 3, 7]
    assert summary["depths"][2]["infeasible"] == 2 and summary["depths"][2]["runs"] == 0  # N=32 allows depth ≤ 6
    serial.stdout.fnmatch_lines(["*stability: decisions and P_crash*", "Crash Hunt (profile smoke):",
                                 "  depth 7: undecided: 2 of 2 runs unclassified (2 infeasible)*",
                                 "*| depth | decision | runs | crashes*"])
    for name in ("crash_hunt_report.md", "crash_hunt_p_crash.png", "crash_hunt_loss_curves.png", "crash_hunt_survival.png",
                 "crash_hunt_reconstructions.png", "pytest_report.json"):
        assert (study_dir.path / "serial" / name).exists(), name
    report = json.loads((study_dir.path / "serial" / "pytest_report.json").read_text())
    properties = [test["user_properties"] for test in report["tests"]]
    assert all(p and "stability_record" in p[0] for p in properties)


@SESSIONS
def test_shootout_uses_the_crash_hunt_and_compares_arms(study_dir):
    common = ["--profile", "smoke", "--runs-dir", "runs", "--reports-dir", "reports", "-p", "no:cacheprovider"]
    (study_dir.path / "reports").mkdir()
    (study_dir.path / "reports" / "shootout_report.md").write_text("an earlier session's report")
    missing = study_dir.runpytest_inprocess("-m", "shootout", *common)
    assert missing.ret == pytest.ExitCode.USAGE_ERROR   # before any test runs, nothing written
    missing.stderr.fnmatch_lines(["ERROR: --crash-depth (not given): no crash depth for the shootout: run `pytest -m "
                                  "crashhunt` first (or pass --crash-depth D)"])
    assert [p.name for p in (study_dir.path / "reports").iterdir()] == ["shootout_report.md"]
    assert not (study_dir.path / "runs").exists()
    result = study_dir.runpytest_inprocess("-m", "shootout", *common, "--crash-depth", "2")
    result.assert_outcomes(passed=4)
    shootout = _summary(study_dir.path / "reports", "shootout_results.json")
    assert shootout["depth"] == 2 and [a["arm"] for a in shootout["arms"]] == ["control", "layerscale"]
    (comparison,) = shootout["comparisons"]
    assert (comparison["a"], comparison["b"]) == ("layerscale", "control")
    # the session's comparison is the one the run folders give (the rule itself: study/test_aggregate.py)
    assert main(["report", "--runs-dir", str(study_dir.path / "runs"), "--reports-dir",
                 str(study_dir.path / "rebuilt")]) == 0
    assert _summary(study_dir.path / "rebuilt", "shootout_results.json")["comparisons"] == [comparison]
    assert {(r["arm"], r["seed"]) for r in shootout["rows"]} == {(a, s) for a in ("control", "layerscale") for s in (11, 12)}


@SESSIONS
def test_a_dead_worker_is_an_infrastructure_error(study_dir):
    dying = (study_dir.path / "test_crash_hunt.py").read_text().replace(
        "    record = study_session.run(",
        "    if (crash_hunt_case.depth, crash_hunt_case.seed) == (3, 12):\n        import os; os._exit(1)\n"
        "    record = study_session.run(")
    assert "os._exit" in dying
    (study_dir.path / "test_crash_hunt.py").write_text(dying)
    result = study_dir.runpytest_inprocess("-m", "crashhunt", "--profile", "smoke", "--depths", "2,3",
                                            "--reports-dir", "reports", "-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, failed=1)
    summary = _summary(study_dir.path / "reports", "crash_hunt_summary.json")
    depth3 = next(d for d in summary["depths"] if d["depth"] == 3)
    assert depth3["errors"] == 1
    assert depth3["seeds"][0]["outcome"] in ("ok", "crashed", "inconclusive") and depth3["seeds"][1]["outcome"] == "error"
    assert depth3["runs"] + depth3["inconclusive"] == 1


@SESSIONS
def test_shards_merge_into_the_same_summary(study_dir, capsys):
    common = ["-m", "crashhunt", "--profile", "smoke", "-p", "no:cacheprovider"]
    study_dir.runpytest_inprocess(*common, "--runs-dir", "runs", "--reports-dir", "whole").assert_outcomes(passed=6)
    shard_a = study_dir.runpytest_inprocess(*common, "--depths", "2", "--runs-dir", "shard_a", "--reports-dir", "a")
    shard_a.assert_outcomes(passed=2)
    shard_b = study_dir.runpytest_inprocess(*common, "--depths", "3,7", "--runs-dir", "shard_b", "--reports-dir", "b")
    shard_b.assert_outcomes(passed=4)
    base = study_dir.path
    assert main(["report", "--runs-dir", str(base / "shard_a"), "--runs-dir", str(base / "shard_b"),
                 "--reports-dir", str(base / "merged_runs")]) == 0
    assert main(["report", "--json-report", str(base / "a" / "pytest_report.json"),
                 "--json-report", str(base / "b" / "pytest_report.json"), "--reports-dir", str(base / "merged_json")]) == 0
    whole = _summary(base / "whole", "crash_hunt_summary.json")
    assert _summary(base / "merged_runs", "crash_hunt_summary.json") == whole
    assert _summary(base / "merged_json", "crash_hunt_summary.json") == whole
    assert "Crash depth" in capsys.readouterr().out


@SESSIONS
def test_sigterm_ends_a_study_with_interrupted_tests_and_the_same_command_completes_it(study_dir):
    """Preemption: the running run checkpoints and its test is recorded as interrupted (never a crash, a pass or a
    harness error), no
    other test starts, the reports are written, the exit status asks for a requeue; then the same command
    resumes the run and completes the study."""
    import os
    import signal
    import subprocess
    import sys

    from harness.train.interrupt import REQUEUE_EXIT_STATUS

    command = [sys.executable, "-m", "pytest", "-m", "crashhunt", "--profile", "smoke", "--depths", "2",
               "--epochs", "12", "--runs-dir", "runs", "--reports-dir", "reports", "-s", "-p", "no:cacheprovider"]
    process = subprocess.Popen(command, cwd=study_dir.path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    for line in process.stdout:
        if "epoch 2/12" in line:
            process.send_signal(signal.SIGTERM)
            break
    output = process.stdout.read()
    assert process.wait(timeout=300) == REQUEUE_EXIT_STATUS, output
    summary = _summary(study_dir.path / "reports", "crash_hunt_summary.json")
    (depth2,) = summary["depths"]
    assert depth2["interrupted"] == 1 and depth2["errors"] == 0 and depth2["runs"] == 0 and depth2["crashes"] == 0
    assert [(s["seed"], s["outcome"]) for s in depth2["seeds"]] == [(11, "interrupted")]  # seed 12 never started
    assert "Traceback" not in output and "interrupted: " in output   # one line, not a harness error's traceback
    assert (study_dir.path / "runs" / "crash_hunt" / "control" / "depth2_seed11" / "checkpoint.pt").is_file()

    finished = subprocess.run(command, cwd=study_dir.path, capture_output=True, text=True, timeout=600,
                              env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert finished.returncode == 0, finished.stdout[-3000:]
    assert "resuming from" in finished.stdout + finished.stderr
    (depth2,) = _summary(study_dir.path / "reports", "crash_hunt_summary.json")["depths"]
    assert depth2["errors"] == 0 and depth2["runs"] + depth2["inconclusive"] == 2


@SESSIONS
def test_a_study_trains_the_seeds_of_a_configuration_together(study_dir):
    """--group-size 2: the two seeds of each depth train as one stacked model, on one xdist worker; each
    is recorded as its own test and run folder, with the results of its single run (float tolerance)."""
    common = ["-m", "crashhunt", "--profile", "smoke", "--depths", "2,7", "-p", "no:cacheprovider"]
    study_dir.runpytest_inprocess(*common, "--runs-dir", "single", "--reports-dir", "single_reports"
                                   ).assert_outcomes(passed=4)
    grouped = study_dir.runpytest_inprocess(*common, "--runs-dir", "grouped", "--reports-dir", "grouped_reports",
                                             "--group-size", "2", "-n", "2")
    grouped.assert_outcomes(passed=4)  # depth 7 is infeasible at N=32: recorded as such, group or not
    for depth in (2,):
        for seed in (11, 12):
            single, group = (json.loads((study_dir.path / runs / "crash_hunt" / "control" / f"depth{depth}_seed{seed}"
                                         / "stats.json").read_text()) for runs in ("single", "grouped"))
            assert group["group"] == {"seeds": [11, 12], "members": 2} and single["group"] is None
            assert group["outcome"] == single["outcome"]
            assert group["amp_ssim"] == pytest.approx(single["amp_ssim"], abs=2e-3)
            assert group["best_val_loss"] == pytest.approx(single["best_val_loss"], rel=1e-3)


@SESSIONS
def test_a_nan_clip_arm_is_a_usage_error_before_any_test_runs(study_dir):
    studies = study_dir.path / "fixtures" / "studies.toml"
    studies.write_text(TINY_STUDIES.replace('[arms.control]\narchitectures = "hybrid"',
                                            '[arms.control]\narchitectures = "hybrid"\ntorch-grad-clip = nan'))
    result = study_dir.runpytest_inprocess("-m", "crashhunt", "--profile", "smoke", "--runs-dir", "runs",
                                            "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {studies} [arms.control] torch-grad-clip nan: must be a finite number"])
    assert not (study_dir.path / "runs").exists() and not (study_dir.path / "reports").exists()


@SESSIONS
def test_two_sessions_on_one_runs_folder_train_each_run_once(study_dir):
    import os
    import subprocess
    import sys

    command = [sys.executable, "-m", "pytest", "-m", "crashhunt", "--profile", "smoke", "--depths", "2,3",
               "--epochs", "6", "--runs-dir", "runs", "-p", "no:cacheprovider", "-q"]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    sessions = [subprocess.Popen([*command, "--reports-dir=reports"], cwd=study_dir.path, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in (1, 2)]
    outputs = [session.communicate(timeout=600)[0] for session in sessions]
    assert [session.returncode for session in sessions] == [0, 0], outputs
    logs = sorted((study_dir.path / "runs" / "crash_hunt" / "control").glob("*/progress.log"))
    assert len(logs) == 4
    for log in logs:  # a run's first line says what it trains: once per training
        assert log.read_text().count("training patches") == 1, log.read_text()
    # one reports folder: each session writes its own partial JSON report, so neither loses the file
    report = json.loads((study_dir.path / "reports" / "pytest_report.json").read_text())
    assert len(report["tests"]) == 4 and not list((study_dir.path / "reports").glob(".*partial"))
    assert main(["report", "--runs-dir", str(study_dir.path / "runs"), "--reports-dir",
                 str(study_dir.path / "rebuilt")]) == 0
    rebuilt = _summary(study_dir.path / "rebuilt", "crash_hunt_summary.json")
    assert _summary(study_dir.path / "reports", "crash_hunt_summary.json")["decisions"] == rebuilt["decisions"]


@SESSIONS
def test_a_finished_run_of_another_configuration_stops_the_session_before_any_test(study_dir):
    common = ["-m", "crashhunt", "--profile", "smoke", "--depths", "2", "--runs-dir", "runs", "-p", "no:cacheprovider"]
    study_dir.runpytest_inprocess(*common).assert_outcomes(passed=2)
    stats = study_dir.path / "runs" / "crash_hunt" / "control" / "depth2_seed11" / "stats.json"
    before = stats.read_text()
    other = study_dir.runpytest_inprocess(*common, "--epochs", "1", "--reports-dir", "other")
    assert other.ret == pytest.ExitCode.USAGE_ERROR
    other.stderr.fnmatch_lines(["ERROR: --runs-dir runs: runs/crash_hunt/control/depth2_seed* holds a finished run of "
                                "another configuration (train.epochs * → 1); pass --rerun to replace it*"])
    assert stats.read_text() == before and not (study_dir.path / "other").exists()
    study_dir.runpytest_inprocess(*common, "--epochs", "1", "--rerun").assert_outcomes(passed=2)
    assert stats.read_text() != before


@SESSIONS
def test_a_full_disk_at_the_reports_is_one_line_and_keeps_the_previous_reports(study_dir, monkeypatch):
    from harness.fsutil import DiskFull
    from harness.study import plugin

    def full(summaries, reports_dir, **_):
        raise DiskFull(Path(reports_dir) / "crash_hunt_summary.json")

    monkeypatch.setattr(plugin, "write_reports", full)
    result = study_dir.runpytest_inprocess("-m", "crashhunt", "--profile", "smoke", "--depths", "2", "--seeds", "11",
                                           "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stderr.fnmatch_lines(["stability: reports not written: *no space left on the device writing "
                                 "*crash_hunt_summary.json*harness report --runs-dir runs*"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


@SESSIONS   # two Python processes, each importing the plugin
def test_two_sessions_write_their_json_reports_to_files_of_their_own(tmp_path):
    import subprocess
    import sys

    code = "import sys; from pathlib import Path; from harness.study.plugin import partial_json_report; " \
           "print(partial_json_report(Path(sys.argv[1])))"
    paths = {subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True,
                            check=True).stdout.strip() for _ in range(2)}
    assert len(paths) == 2 and all(Path(path).parent == tmp_path for path in paths)


def test_a_study_whose_every_test_errored_replaces_no_report():
    from harness.run.record import Identity, RunRecord
    from harness.study.plugin import complete_studies

    def record(study, outcome):
        return RunRecord.untrained(Identity(study, "control", "hybrid", 2, 1), outcome, "")

    records = [record("crash_hunt", "infeasible"), record("crash_hunt", "error"), record("shootout", "error")]
    assert complete_studies(records) == records[:2]


DIVERGING_STUDIES = TINY_STUDIES.replace('[design]\ndesign = "fixed"', '[design]\nmax-seeds = 5').replace(
    "depths = [2, 3, 7]", "depths = [1, 4]").replace(
    '[arms.control]\narchitectures = "hybrid"',
    # lr 100 without clipping: depth 4 is non-finite at its first step for every seed; under the disk probe depth 1
    # stays finite and under-trained (under the zone plate two of its three seeds collapse: it would be crashy too)
    '[arms.control]\narchitectures = "hybrid"\ntorch-learning-rate = 100.0\ntorch-grad-clip = 0.0\n'
    'probe-source = "disk"')


@SESSIONS
def test_a_sequential_crash_hunt_stops_a_depth_once_decided_and_the_folders_give_the_same_answer(study_dir):
    (study_dir.path / "fixtures" / "studies.toml").write_text(DIVERGING_STUDIES)
    common = ["-m", "crashhunt", "--profile", "smoke", "--runs-dir", "runs", "-p", "no:cacheprovider", "-rs"]
    # a session cut short after two runs, then the same command: it resumes from the folders
    study_dir.runpytest_inprocess(*common, "--reports-dir", "partial", "-k", "depth4-seed11 or depth1-seed11")
    result = study_dir.runpytest_inprocess(*common, "--reports-dir", "reports")
    result.assert_outcomes(passed=5, skipped=5)
    result.stdout.fnmatch_lines(["decided: depth 4 decided crashy after 2 runs*(its remaining seeds are skipped)"])
    result.stdout.fnmatch_lines(["SKIPPED [[]3[]] *: depth 4 decided crashy after 2 runs: SPRT after 2 runs*",
                                 "SKIPPED [[]2[]] *: depth 1 ended undecided after 3 runs: 3 of 3 runs unclassified*"])
    summary = _summary(study_dir.path / "reports", "crash_hunt_summary.json")
    depth1, depth4 = summary["depths"]
    assert depth4["decision"]["decision"] == "crashy" and depth4["decision"]["seeds_used"] == 2
    assert depth4["decision"]["llr"] == pytest.approx(2 * math.log(0.30 / 0.05))
    assert [s["seed"] for s in depth4["seeds"]] == [11, 12] and [s["seed"] for s in depth1["seeds"]] == [11, 12, 13]
    assert summary["crash_depth"] == 4 and summary["decisions"][1].startswith("depth 4: crashy (2 of 2 crashed")
    assert main(["report", "--runs-dir", str(study_dir.path / "runs"), "--max-seeds", "5",
                 "--reports-dir", str(study_dir.path / "rebuilt")]) == 0
    rebuilt = _summary(study_dir.path / "rebuilt", "crash_hunt_summary.json")
    assert rebuilt["decisions"] == summary["decisions"] and rebuilt["depths"] == summary["depths"]
    again = study_dir.runpytest_inprocess(*common, "--reports-dir", "again", "-n", "2")
    again.assert_outcomes(passed=5, skipped=5)  # nothing retrained, the same decisions under xdist
    assert _summary(study_dir.path / "again", "crash_hunt_summary.json")["decisions"] == summary["decisions"]


@SESSIONS
def test_the_probe_as_a_study_factor_end_to_end(study_dir):
    (study_dir.path / "fixtures" / "probes.toml").write_text((ROOT / "fixtures" / "probes.toml").read_text())
    common = ["-m", "crashhunt", "--profile", "smoke", "--depths", "2", "--probe-source", "disk,fzp",
              "-p", "no:cacheprovider"]
    result = study_dir.runpytest_inprocess(*common, "--runs-dir", "runs", "--reports-dir", "reports")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*test_crash_hunt?depth2@fzp-seed11?*"])
    summary = _summary(study_dir.path / "reports", "crash_hunt_summary.json")
    assert [(d["arm"], d["depth"]) for d in summary["depths"]] == [("control@disk", 2), ("control@fzp", 2)]
    configs = {arm: json.loads((study_dir.path / "runs" / "crash_hunt" / arm / "depth2_seed11" / "config.json")
                               .read_text())["data"]["probe_source"] for arm in ("control@disk", "control@fzp")}
    assert configs == {"control@disk": "disk", "control@fzp": "fzp"}
    assert "| depth | control@disk | control@fzp |" in (study_dir.path / "reports" / "crash_hunt_report.md").read_text()
    assert main(["report", "--runs-dir", str(study_dir.path / "runs"), "--design", "fixed",
                 "--reports-dir", str(study_dir.path / "rebuilt")]) == 0
    assert _summary(study_dir.path / "rebuilt", "crash_hunt_summary.json") == summary
    shootout = study_dir.runpytest_inprocess("-m", "shootout", "--profile", "smoke", "--probe-source", "disk,fzp",
                                              "--crash-depth", "2", "-p", "no:cacheprovider")
    shootout.stderr.fnmatch_lines(["*--probe-source disk,fzp: the shootout compares arms under one probe*"])


@SESSIONS
def test_the_gate_fails_a_session_only_when_asked_and_only_on_its_decision(study_dir):
    (study_dir.path / "fixtures" / "studies.toml").write_text(DIVERGING_STUDIES)
    common = ["-m", "crashhunt", "--profile", "smoke", "--depths", "4", "--runs-dir", "runs", "-p", "no:cacheprovider"]
    plain = study_dir.runpytest_inprocess(*common, "--reports-dir", "plain")
    assert plain.ret == 0    # a crashy recipe is a recorded result, not a failed test
    assert _summary(study_dir.path / "plain", "crash_hunt_summary.json")["depths"][0]["decision"]["decision"] == "crashy"
    gated = study_dir.runpytest_inprocess(*common, "--reports-dir", "gated", "--fail-on", "crashy")
    assert gated.ret == 1
    gated.stdout.fnmatch_lines(["stability: --fail-on: depth 4 (control) decided crashy"])
    other = study_dir.runpytest_inprocess(*common, "--reports-dir", "other", "--fail-on", "worse")
    assert other.ret == 0    # no arm was compared: nothing decided worse
    bad = study_dir.runpytest_inprocess(*common, "--reports-dir", "bad", "--fail-on", "unstable")
    assert bad.ret == 4
    bad.stderr.fnmatch_lines(["*--fail-on unstable: unknown gate (choose from crashy, worse)*"])


@pytest.mark.parametrize("expression, studies", [
    ("crashhunt", ["crashhunt"]), ("shootout", ["shootout"]), ("not crashhunt", ["shootout"]),
    ("not slow", []), ("not slow and not integration", []), ("crashhunt or shootout", ["crashhunt", "shootout"]),
    ("(crashhunt or shootout) and not shootout", ["crashhunt"]), ("slow and not (crashhunt or shootout)", []),
    ("crashhunt and slow", ["crashhunt"]), ("integration", []), ("", []), ("calibration", []),
    ("not (not crashhunt)", ["crashhunt"]),
])
def test_study_mode_follows_what_the_marker_expression_selects(expression, studies):
    from harness.study.plugin import selected_studies

    assert selected_studies(expression) == studies


@pytest.mark.parametrize("selection", [["-m", "crashhunt", "-k", "no_such_test"], ["-m", "crashhunt", "test_shootout.py"],
                                       ["-m", "not crashhunt and not shootout"], ["-m", "crashhunt", "-k", "not depth"]])
def test_a_session_that_selects_no_study_test_writes_nothing(study_dir, selection):
    """Study mode follows the tests collected after -m, -k and the paths: a study named by -m none of whose tests
    is selected leaves the previous JSON report (and every other report) as it was."""
    reports = study_dir.path / "reports"
    reports.mkdir()
    (reports / "pytest_report.json").write_text("previous")
    result = study_dir.runpytest_inprocess(*selection, "--profile", "smoke", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    assert sorted(p.name for p in reports.iterdir()) == ["pytest_report.json"]
    assert (reports / "pytest_report.json").read_text() == "previous"


@SESSIONS
@pytest.mark.parametrize("workers", [[], ["-n", "2"]])
def test_a_study_selected_without_its_marker_is_checked_before_any_test_runs(study_dir, workers):
    """`-m ""` selects the shootout's tests without naming them: its settings are checked once they are collected
    (here: no crash depth known), a usage error before any run trains, with or without xdist workers."""
    result = study_dir.runpytest_subprocess("-m", "", "test_shootout.py", "--profile", "smoke", *workers,
                                            "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --crash-depth (not given): no crash depth for the shootout*"])
    assert not (study_dir.path / "runs" / "shootout").exists()


@pytest.mark.parametrize("expression, studies", [
    ("crashhunt", ["crashhunt"]), ("not crashhunt", ["shootout"]), ("crashhunt or shootout", ["crashhunt", "shootout"]),
    ("(crashhunt or shootout) and not shootout", ["crashhunt"]), ("slow and not (crashhunt or shootout)", []),
    ("not slow", []),
])
def test_the_collected_tests_name_the_same_studies_as_the_expression(study_dir, expression, studies):
    """What a session runs is decided from its collected tests; for every form of -m they agree with the
    expression read at configuration."""
    from harness.study.plugin import collected_studies, selected_studies

    recorder = study_dir.inline_run("--collect-only", "-m", expression, "--profile", "smoke", "--crash-depth", "2")
    session = recorder.getcall("pytest_collection_finish").session   # its items: what -m left selected
    plan = session.config.stash[SESSION_KEY].plan
    assert collected_studies([item.nodeid for item in session.items], plan) == studies == selected_studies(expression)


def test_the_study_tests_carry_the_markers_the_selection_reads():
    """The table the selection is read against is the study test files' own pytestmark."""
    import importlib.util
    from pathlib import Path

    from harness.study.plugin import STUDY_TEST_MARKERS

    studies = Path(__file__).resolve().parents[2] / "studies"
    for marker, name in (("crashhunt", "test_crash_hunt.py"), ("shootout", "test_shootout.py")):
        spec = importlib.util.spec_from_file_location(f"study_{marker}", studies / name)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        assert sorted(mark.name for mark in module.pytestmark) == sorted(STUDY_TEST_MARKERS[marker])


@SESSIONS
def test_path_options_take_a_space_with_xdist_workers_and_a_folder_outside_the_checkout(tmp_path):
    """The plugin is registered by its entry point, so `--runs-dir DIR` (space form, DIR an existing folder outside
    the checkout, which pytest would otherwise take for a test path and a rootdir) parses in the controller and
    in every xdist worker."""
    import os
    import subprocess
    import sys

    (tmp_path / "runs").mkdir()
    command = [sys.executable, "-m", "pytest", "-m", "crashhunt", "-n", "2", "--runs-dir", str(tmp_path / "runs"),
               "--reports-dir", str(tmp_path / "reports"), "--profile", "smoke", "--depths", "4", "--max-seeds", "1",
               "--seed-batch", "1", "-p", "no:cacheprovider", "-q"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600,
                            env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "1 passed" in result.stdout
    assert (tmp_path / "runs" / "crash_hunt" / "control" / "depth4_seed20260128" / "stats.json").is_file()
    assert (tmp_path / "reports" / "crash_hunt_summary.json").is_file()


def test_the_session_eta_reads_only_the_durations_of_runs_trained_in_the_session(tmp_path, study_options):
    """An adopted or reused run finishes in no time: counting it would make the ETA of every run still to train
    near zero. The records come from the run folders, whatever the tests' reports carry."""
    import os
    import time
    from types import SimpleNamespace

    from harness.run import RunFolder
    from harness.run.record import RunRecord
    from harness.study.plugin import SESSION_KEY, StudyRecorder
    from harness.study.session import StudySession

    session = StudySession(study_options(**{"--runs-dir": str(tmp_path), "--design": "fixed", "--depths": "4,6,8",
                                            "--seeds": "1,2", "--crash-depth": 4}))
    lines = []
    reporter = SimpleNamespace(write_line=lines.append)
    config = SimpleNamespace(pluginmanager=SimpleNamespace(get_plugin=lambda name: reporter), stash={SESSION_KEY: session})
    recorder = StudyRecorder(config, checked=[])
    runs = {("shootout", "agc", 4, 1): ("ok", None, 96.0),                       # trained in this session
            ("shootout", "control", 4, 1): ("ok", "runs/crash_hunt/control/x", 0.3),  # adopted
            ("crash_hunt", "control", 8, 1): ("infeasible", None, 0.1),          # refused before training
            ("crash_hunt", "control", 4, 2): ("ok", None, 0.2)}                  # finished before the session
    for (study, arm, depth, seed), (outcome, reused_from, seconds) in runs.items():
        case = session.plan.cases(study)[0].__class__(study, arm, depth, seed)
        config_hash = session.plan.config(case).config_hash
        folder = session.ledger.folder(case)
        folder.path.mkdir(parents=True)
        folder.write_record(RunRecord(study=study, arm=arm, architecture="hybrid", depth=depth, seed=seed,
                                      outcome=outcome, config_hash=config_hash, reused_from=reused_from))
        if (study, seed) == ("crash_hunt", 2):
            os.utime(folder / "stats.json", (time.time() - 3600,) * 2)
        nodeid = f"s.py::test_{study}[{case.test_id if study == 'crash_hunt' else f'{arm}-seed{seed}'}]"
        report = SimpleNamespace(nodeid=nodeid, failed=False, passed=True, skipped=False, when="call",
                                 duration=seconds, user_properties=[])
        recorder.pytest_runtest_logreport(report)
        assert report.user_properties[0][0] == "stability_case"     # the case, for pytest-json-report's file
    assert recorder.run_seconds == [96.0] and len(lines) == 4
    assert [r.outcome for r in recorder.records] == ["ok", "ok", "infeasible", "ok"]
    assert isinstance(RunFolder(recorder.records[0].run_dir).finished_record(), RunRecord)


def test_a_sequential_session_hands_tests_to_xdist_workers_one_at_a_time(study_options):
    from types import SimpleNamespace

    from harness.study.definitions import load_studies
    from harness.study.plan import StudyPlan
    from harness.study.plugin import _schedule_for_the_design

    def configured(design, **given):
        config = SimpleNamespace(option=SimpleNamespace(dist="load", maxschedchunk=None))
        config.getoption = lambda name, default=None: getattr(config.option, name, default)
        _schedule_for_the_design(config, StudyPlan.of(study_options(**{"--design": design, **given}), load_studies()))
        return config.option

    assert configured("sequential").maxschedchunk == 1
    assert configured("fixed").maxschedchunk is None   # a fixed matrix keeps xdist's chunks
    assert configured("fixed", **{"--group-size": 2}).dist == "loadgroup"   # a group's seeds stay on one worker


@SESSIONS
def test_a_crash_hunt_on_a_measured_file_end_to_end(study_dir, tiny_dataset):
    from harness.data.ptycho_npz import simulated_as_ptycho_npz, write_ptycho_npz

    for split in ("train", "test"):
        arrays, _ = simulated_as_ptycho_npz(tiny_dataset, split)
        write_ptycho_npz(study_dir.path / f"{split}.npz", **arrays)
    common = ["-m", "crashhunt", "--profile", "smoke", "--depths", "2", "-p", "no:cacheprovider"]
    missing = study_dir.runpytest_inprocess(*common, "--data-npz", "missing.npz")
    assert missing.ret == pytest.ExitCode.USAGE_ERROR and not (study_dir.path / "runs").exists()
    missing.stderr.fnmatch_lines(["*--data-npz*missing.npz*file not found*"])
    files = ["--data-npz", "train.npz", "--test-data-npz", "test.npz"]
    result = study_dir.runpytest_inprocess(*common, *files, "--runs-dir", "runs", "--reports-dir", "reports")
    result.assert_outcomes(passed=2)
    folder = study_dir.path / "runs" / "crash_hunt" / "control" / "depth2_seed11"
    config = json.loads((folder / "config.json").read_text())
    assert config["data"]["data_npz"] == "train.npz" and config["probe"] == {"file": "train.npz", "key": "probeGuess"}
    stats = json.loads((folder / "stats.json").read_text())
    assert stats["probe"] == "data train.npz" and stats["evidence"]["measured"] and stats["amp_ssim"] is None
    assert stats["fit_constant_object"] > stats["fit_noise_floor"] > 0      # references from the data alone
    with np.load(folder / "recon.npz") as archive:
        assert "ground_truth" not in archive.files and archive["object_patches"].shape == (81, 32, 32)
    summary = _summary(study_dir.path / "reports", "crash_hunt_summary.json")
    assert summary["probes"] == [{"probe": "data train.npz", "asymmetry": None, "exact_twin": None, "measured": True}]
    assert "Measured data, no ground truth" in (study_dir.path / "reports" / "crash_hunt_report.md").read_text()
    assert main(["report", "--runs-dir", str(study_dir.path / "runs"), "--design", "fixed",
                 "--reports-dir", str(study_dir.path / "rebuilt")]) == 0
    assert _summary(study_dir.path / "rebuilt", "crash_hunt_summary.json") == summary
