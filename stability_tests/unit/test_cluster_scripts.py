"""The cluster templates (examples/slurm, examples/pbs): they parse, the submit scripts pass every setting the
shared shard body reads, and the body itself — run here with a stand-in Python — selects its item, forwards
SIGTERM-style interruption (status 75) to the scheduler's requeue command and passes any other status on."""

import os
import re
import stat
import subprocess
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parents[2] / "examples"
SCRIPTS = [*sorted(EXAMPLES.glob("*.sh")), *sorted((EXAMPLES / "slurm").iterdir()),
           *sorted((EXAMPLES / "pbs").iterdir())]
SET_BY_THE_SCHEDULER_SCRIPT = {"SCHEDULER", "TASK_INDEX", "RESTARTS", "REQUEUE"}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_each_script_parses(script):
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0


def test_the_submit_scripts_pass_every_setting_the_shard_body_reads():
    body = (EXAMPLES / "shard.sh").read_text()
    read = set(re.findall(r"\$\{?([A-Z][A-Z_]+)", body)) - SET_BY_THE_SCHEDULER_SCRIPT
    assert read == {"PROJECT", "PYTHON", "STUDY", "ITEMS", "PROFILE", "TAG", "CRASH_DEPTH", "SEEDS", "N_SEEDS", "EPOCHS"}
    pbs = (EXAMPLES / "pbs" / "submit.sh").read_text()
    passed = set(re.findall(r"[,\"]([A-Z_]+)=", pbs))
    assert read <= passed, read - passed
    slurm = (EXAMPLES / "slurm" / "submit.sh").read_text()
    exported = set(re.findall(r"\b([A-Z_]+)=", slurm[slurm.index("export "):]))
    assert read <= exported, read - exported
    for scheduler in ("slurm/shard.sbatch", "pbs/shard.pbs"):   # each sets what the body leaves to it
        assert SET_BY_THE_SCHEDULER_SCRIPT <= set(re.findall(r"([A-Z_]+)=", (EXAMPLES / scheduler).read_text()))


def _shard(tmp_path, status, study="crashhunt", **extra):
    fake = tmp_path / "python"
    fake.write_text(f'#!/usr/bin/env bash\necho "$@" > "{tmp_path}/args"\nexit {status}\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    env = {**os.environ, "PROJECT": str(tmp_path), "PYTHON": str(fake), "STUDY": study, "ITEMS": "4 6 8",
           "PROFILE": "smoke", "TAG": "t", "SCHEDULER": "pbs", "TASK_INDEX": "1", "SEEDS": "1 2",
           "REQUEUE": f"touch {tmp_path}/requeued", "CRASH_DEPTH": "4", **extra}
    done = subprocess.run(["bash", str(EXAMPLES / "shard.sh")], env=env, capture_output=True, text=True)
    return done.returncode, (tmp_path / "args").read_text().split(), (tmp_path / "requeued").exists()


def test_the_shard_body_runs_its_item_and_requeues_only_an_interrupted_session(tmp_path):
    status, args, requeued = _shard(tmp_path, 75)
    assert status == 75 and requeued
    assert args[args.index("--depths") + 1] == "6" and args[args.index("--seeds") + 1:][:2] == ["1", "2"]
    assert f"--runs-dir={tmp_path}/runs/pbs/t/shard1/runs" in args
    (tmp_path / "requeued").unlink()
    status, args, requeued = _shard(tmp_path, 1, study="shootout", ITEMS="control agc", TASK_INDEX="0")
    assert status == 1 and not requeued
    assert args[args.index("--arms") + 1] == "control" and args[args.index("--crash-depth") + 1] == "4"


@pytest.mark.parametrize("scheduler", ["slurm", "pbs"])
def test_a_submit_script_refuses_an_unknown_study_or_a_shootout_without_its_depth(scheduler, tmp_path):
    submit = str(EXAMPLES / scheduler / "submit.sh")
    env = {**os.environ, "PYTHON": "/bin/true"}
    env.pop("CRASH_DEPTH", None)
    unknown = subprocess.run(["bash", submit, "hunt"], env=env, capture_output=True, text=True)
    assert unknown.returncode == 2 and "unknown study 'hunt'" in unknown.stderr
    no_depth = subprocess.run(["bash", submit, "shootout"], env=env, capture_output=True, text=True)
    assert no_depth.returncode != 0 and "CRASH_DEPTH" in no_depth.stderr
