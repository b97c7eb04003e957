"""`harness report`: records read and checked where they are read — an invalid one is excluded and said, never
counted or silently dropped."""

import json
import shutil

from harness.cli.main import main
from harness.run import RunFolder
from harness.run.record import RunRecord
from harness.verdict import VERDICT_VERSION


def _runs(root, outcomes):
    for seed, outcome in enumerate(outcomes, start=1):
        folder = RunFolder(root / "crash_hunt" / "control" / f"depth4_seed{seed}")
        folder.path.mkdir(parents=True)
        crashed = outcome == "crashed"
        folder.write_record(RunRecord(study="crash_hunt", arm="control", architecture="hybrid", depth=4, seed=seed,
                                      outcome=outcome, crashed=crashed, reasons=("nonfinite",) if crashed else (),
                                      onset_epoch=2 if crashed else None, n_epochs=5, config_hash="c0ffee",
                                      verdict_version=VERDICT_VERSION))


def _decisions(reports) -> list[str]:
    return json.loads((reports / "crash_hunt_summary.json").read_text())["decisions"]


def test_a_corrupted_record_is_excluded_said_and_the_decisions_are_those_without_that_run(tmp_path, capsys):
    outcomes = ["crashed", "crashed", "ok", "crashed", "crashed", "ok", "crashed"]
    _runs(tmp_path / "all", outcomes)
    shutil.copytree(tmp_path / "all", tmp_path / "without")
    shutil.rmtree(tmp_path / "without" / "crash_hunt" / "control" / "depth4_seed7")
    stats = tmp_path / "all" / "crash_hunt" / "control" / "depth4_seed7" / "stats.json"
    stats.write_text(stats.read_text()[:40])                    # truncated by a full disk
    common = ["--design", "fixed", "--seeds", "1,2,3,4,5,6,7"]
    assert main(["report", "--runs-dir", str(tmp_path / "all"), "--reports-dir", str(tmp_path / "r_all"), *common]) == 0
    out, err = capsys.readouterr()
    assert f"harness report: excluded: {stats} is not JSON" in err and "1 record(s) excluded as invalid" in out
    assert main(["report", "--runs-dir", str(tmp_path / "without"), "--reports-dir", str(tmp_path / "r_without"),
                 *common]) == 0
    assert _decisions(tmp_path / "r_all") == _decisions(tmp_path / "r_without")
    assert "1 run record(s) excluded as invalid" in (tmp_path / "r_all" / "crash_hunt_report.md").read_text()
    assert json.loads((tmp_path / "r_all" / "crash_hunt_summary.json").read_text())["excluded_records"][0].startswith(
        str(stats))


def test_two_runs_folders_of_different_configurations_for_one_seed_are_refused(tmp_path, usage_error):
    _runs(tmp_path / "one", ["ok", "ok"])
    _runs(tmp_path / "two", ["crashed"])
    stats = tmp_path / "two" / "crash_hunt" / "control" / "depth4_seed1" / "stats.json"
    stats.write_text(stats.read_text().replace("c0ffee", "decade"))   # trained with other settings
    usage_error(["report", "--runs-dir", str(tmp_path / "one"), "--runs-dir", str(tmp_path / "two"), "--reports-dir",
                 str(tmp_path / "reports")], "hold different configurations of crash_hunt control depth 4 seed 1",
                [tmp_path / "reports"])
