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
    common = ["--profile", "smoke", "--epochs", "1", "--count-unfinished-as-crash", "--design=sequential", "--max-seeds=2"]
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
    merged = json.loads((tmp_path / "merged" / "crash_hunt_summary.json").read_text())
    assert (merged["design"]["design"], merged["design"]["max_seeds"]) == ("sequential", 2)   # the shards' design


def test_the_merge_decides_with_the_options_the_shards_decided_with():
    from harness.study.launcher import deciding_options

    shard_args = ["--profile", "smoke", "-n", "2", "--max-seeds", "6", "--p1=0.4", "--count-unfinished-as-crash",
                  "--seeds", "1,2", "--epochs", "3", "--design=fixed"]
    assert deciding_options(shard_args) == ["--design", "fixed", "--max-seeds", "6", "--p1", "0.4", "--seeds", "1,2",
                                            "--count-unfinished-as-crash"]
    assert deciding_options(["--profile", "paper"]) == []


@needs_submitit
def test_a_launch_without_what_it_needs_is_one_line(usage_error, tmp_path):
    usage_error(["launch", "shootout", "--launch-dir", str(tmp_path / "l")], "--crash-depth", [tmp_path / "l"])
    usage_error(["launch", "crashhunt", "--executor", "pbs", "--launch-dir", str(tmp_path / "l")], "--executor pbs",
                [tmp_path / "l"])


@needs_submitit
def test_on_slurm_the_merge_is_a_job_that_waits_for_the_whole_array(usage_error, tmp_path, monkeypatch, capsys):
    """What is handed to sbatch, read back from a stand-in sbatch: the shards as one array, the merge as a job
    depending on all of it (afterany), the launcher returning once both are submitted."""
    import os
    import stat

    bin_dir, submitted = tmp_path / "bin", tmp_path / "submitted"
    bin_dir.mkdir(), submitted.mkdir()
    sbatch = bin_dir / "sbatch"
    sbatch.write_text('#!/bin/sh\nn=$(ls "$SUBMITTED" | wc -l)\ncp "$1" "$SUBMITTED/$n.sh"\n'
                      'echo "Submitted batch job $((700 + n))"\n')
    (bin_dir / "srun").write_text("#!/bin/sh\nexit 1\n")   # submitit looks for it to know it is on Slurm
    path = os.environ["PATH"]
    monkeypatch.setenv("PATH", str(bin_dir))   # no executable srun: not on Slurm
    usage_error(["launch", "crashhunt", "--executor", "slurm", "--launch-dir", str(tmp_path / "l")],
                "--executor slurm", [tmp_path / "l"])
    for tool in bin_dir.iterdir():
        tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{path}")
    monkeypatch.setenv("SUBMITTED", str(submitted))
    status = main(["launch", "crashhunt", "--items", "4,6,8", "--executor", "slurm", "--launch-dir",
                   str(tmp_path / "launch"), "--reports-dir", str(tmp_path / "merged"), "--partition", "gpu"])
    assert status == 0
    array, merge = [path.read_text() for path in sorted(submitted.glob("*.sh"))]
    assert "#SBATCH --array=0-2" in array and "#SBATCH --partition=gpu" in array
    assert "--dependency" not in array
    assert "#SBATCH --dependency=afterany:700" in merge and "#SBATCH --cpus-per-task=1" in merge
    out = capsys.readouterr().out
    assert "shards are jobs 700_0, 700_1, 700_2; the merge, job 701" in out
    assert not (tmp_path / "merged").exists()   # written by the merge job, not by the launcher



# A study session that checkpoints on SIGTERM, run as a shard under a handler that does what submitit's does on
# USR2 (checkpoint, requeue, exit).
SESSION_UNDER_SHARD = r"""
import pathlib, signal, sys, time
def stop(*_):
    pathlib.Path(sys.argv[1]).write_text("checkpointed")
    sys.exit(75)
signal.signal(signal.SIGTERM, stop)
pathlib.Path(sys.argv[1] + ".ready").write_text("")
time.sleep(60)
"""
SHARD_UNDER_SIGNAL = r"""
import signal, sys
from harness.study.launcher import Shard

shard = Shard("s", [sys.executable, "-c", sys.argv[1], sys.argv[2]], ".")
def preempted(*_):
    shard.checkpoint()
    sys.exit(3)
signal.signal(signal.SIGUSR2, preempted)
shard()
"""


@needs_submitit
@pytest.mark.integration
def test_a_shard_signalled_as_slurm_signals_a_job_checkpoints_its_session_and_returns(tmp_path):
    """Slurm sends USR2 to every process of the job before its time limit (as a real single-node Slurm did):
    the session must not die of it, and submitit's handler, which interrupts the shard's wait, must stop the
    session with SIGTERM (its runs checkpoint) and return, not wait for ever."""
    import contextlib
    import os
    import signal
    import subprocess
    import sys
    import time

    marker = tmp_path / "session_stopped"
    process = subprocess.Popen([sys.executable, "-c", SHARD_UNDER_SIGNAL, SESSION_UNDER_SHARD, str(marker)],
                               start_new_session=True)
    deadline = time.time() + 60
    while not (tmp_path / "session_stopped.ready").exists() and time.time() < deadline:   # its handler installed
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGUSR2)     # the whole job, the session included
    try:
        assert process.wait(timeout=30) == 3
    finally:   # nothing of it left running, whatever happened
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    assert marker.read_text() == "checkpointed"

