"""`harness launch` through submitit's local executor: the shards, merged, decide as one session does."""

import importlib.util
import json
from pathlib import Path

import pytest

from harness.cli.main import main
from stability_tests.tiny import TINY_STUDIES

pytest_plugins = ["pytester"]
needs_submitit = pytest.mark.skipif(importlib.util.find_spec("submitit") is None,
                                    reason="needs submitit: pip install -e .[cluster]")


def _decided(reports: Path) -> tuple[list[str], list[tuple]]:
    summary = json.loads((reports / "crash_hunt_summary.json").read_text())
    cells = [(d["depth"], d["runs"], d["crashes"], d["infeasible"], d["decision"]["decision"],
              [(s["seed"], s["outcome"]) for s in d["seeds"]]) for d in summary["depths"]]
    return summary["decisions"], cells


@needs_submitit
@pytest.mark.integration
def test_the_shards_of_a_local_launch_decide_as_one_session(pytester, study_project, tmp_path):
    project = study_project(pytester, TINY_STUDIES)
    common = ["--profile", "smoke", "--epochs", "1"]
    single = project.runpytest_inprocess("-m", "crashhunt", "--depths", "2,7", *common, "--runs-dir", "single",
                                         "--reports-dir", "single_reports", "-p", "no:cacheprovider")
    single.assert_outcomes(passed=4)
    status = main(["launch", "crashhunt", "--items", "2,7", "--executor", "local", "--launch-dir",
                   str(tmp_path / "launch"), "--reports-dir", str(tmp_path / "merged"), "--project-dir",
                   str(project.path), "--pytest-args", " ".join(common)])
    assert status == 0
    assert sorted((tmp_path / "launch").glob("shard*/runs")) == [tmp_path / "launch" / "shard0" / "runs",
                                                                  tmp_path / "launch" / "shard1" / "runs"]
    assert _decided(tmp_path / "merged") == _decided(project.path / "single_reports")


@needs_submitit
def test_a_launch_without_what_it_needs_is_one_line(usage_error, tmp_path):
    usage_error(["launch", "shootout", "--launch-dir", str(tmp_path / "l")], "--crash-depth", [tmp_path / "l"])
    usage_error(["launch", "crashhunt", "--executor", "pbs", "--launch-dir", str(tmp_path / "l")], "--executor pbs",
                [tmp_path / "l"])
