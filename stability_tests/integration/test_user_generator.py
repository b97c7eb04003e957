"""A researcher's own generator, named by import path, through `harness run` and a crash hunt: verdict,
run folder and reports; each way it can be wrong is one line naming the flag (exit 2) or, in a study, an
`infeasible` run."""

import json
import os
import shutil
import textwrap
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
MODULE = textwrap.dedent('''
    import torch
    from torch import nn

    class Plain(nn.Module):
        """Convolutions at full resolution, real and imaginary parts from a 1x1 head."""

        def __init__(self, plan):
            super().__init__()
            self.body = nn.Sequential(*[nn.Conv2d(1 if i == 0 else plan.width, plan.width, 3, padding=1)
                                        for i in range(plan.depth)])
            self.head = nn.Conv2d(plan.width, 2, 1)

        def forward(self, x):
            out = self.head(torch.tanh(self.body(x)))
            return torch.complex(out[:, 0], out[:, 1])

    def build(plan):
        return Plain(plan)

    def raises(plan):
        raise RuntimeError("my generator is broken")

    def real_valued(plan):
        return nn.Conv2d(1, 2, 1)

    def shallow_only(plan):
        if plan.depth > 2:
            raise ValueError(f"depth {plan.depth} is deeper than I can build")
        return Plain(plan)
''')
SMALL = ["--profile", "smoke", "--N", "32", "--fno-width", "8", "--fno-modes", "4", "--set-phi", "--threads", "1"]


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    folder = tmp_path / "user_code"
    folder.mkdir()
    (folder / "my_generators.py").write_text(MODULE)
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(folder), os.environ.get("PYTHONPATH", "")]))
    yield folder
    from harness.models import architecture

    architecture.cache_clear()


def test_harness_run_trains_a_user_generator(user_module, tmp_path, harness_process, cache_dir):
    folder = tmp_path / "run"
    result = harness_process(["run", *SMALL, "--architectures", "my_generators:build", "--fno-blocks", "2",
                              "--seed", "7", "--output-dir", str(folder), "--cache-dir", str(cache_dir)])
    assert result.returncode == 0, result.stderr
    stats = json.loads((folder / "stats.json").read_text())
    assert stats["architecture"] == "my_generators:build" and stats["outcome"] in ("ok", "crashed", "inconclusive")
    assert stats["params"] == (1 * 9 * 8 + 8) + (8 * 9 * 8 + 8) + (8 * 2 + 2)   # two 3×3 convolutions and the head
    assert json.loads((folder / "config.json").read_text())["architecture"] == "my_generators:build"
    assert "my_generators:build depth 2 seed 7" in result.stdout


@pytest.mark.parametrize("name, depth, says", [
    ("not_a_module:build", 2, "does not import"),
    ("my_generators:raises", 2, "RuntimeError: my generator is broken"),
    ("my_generators:real_valued", 2, "it returned torch.float32 (2, 2, 32, 32)"),
    ("my_generators:shallow_only", 4, "ValueError: depth 4 is deeper than I can build"),
])
def test_each_way_a_user_generator_can_be_wrong_is_one_line_naming_the_flag(user_module, tmp_path, usage_error,
                                                                            name, depth, says):
    folder = tmp_path / "run"
    usage_error(["run", *SMALL, "--architectures", name, "--fno-blocks", str(depth), "--output-dir", str(folder)],
                f"--architectures {name}: ", [folder])
    usage_error(["run", *SMALL, "--architectures", name, "--fno-blocks", str(depth), "--output-dir", str(folder)],
                says, [folder])


STUDIES = """
[design]
max-seeds = 3

[protocol]
N = 32
set-phi = true
fno-width = 8
fno-modes = 4
torch-batch-size = 16
torch-grad-clip = 1.0

[crash_hunt]
arm = "mine"
depths = [2, 3]
seeds = [11, 12]
seed_base = 11

[shootout]
arms = ["control", "mine"]
seeds = [11, 12]
seed_base = 11

[arms.control]
architectures = "hybrid"

[arms.mine]
architectures = "my_generators:shallow_only"
"""


def test_a_smoke_crash_hunt_of_a_user_generator_records_verdicts_and_reports(user_module, pytester, monkeypatch,
                                                                             cache_dir):
    fixtures = pytester.path / "fixtures"
    fixtures.mkdir()
    shutil.copy(ROOT / "fixtures" / "profiles.toml", fixtures / "profiles.toml")
    (fixtures / "studies.toml").write_text(STUDIES)
    monkeypatch.setenv("HARNESS_FIXTURES", str(fixtures))
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(cache_dir))
    pytester.makeconftest('pytest_plugins = ["harness.study.plugin"]')
    pytester.makeini("[pytest]\nmarkers =\n    slow: slow\n    crashhunt: c\n    shootout: s\n")
    for name in ("test_crash_hunt.py", "test_shootout.py"):
        shutil.copy(ROOT / "stability_tests" / "studies" / name, pytester.path / name)
    result = pytester.runpytest_subprocess("-m", "crashhunt", "--profile", "smoke", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=6)
    summary = json.loads((pytester.path / "reports" / "crash_hunt_summary.json").read_text())
    depth2, depth3 = summary["depths"]
    assert depth2["runs"] + depth2["inconclusive"] == 3 and depth3["infeasible"] == 3   # it builds depth ≤ 2 only
    assert "deeper than I can build" in json.loads(
        (pytester.path / "runs" / "crash_hunt" / "mine" / "depth3_seed11" / "stats.json").read_text())["message"]
    assert (pytester.path / "runs" / "crash_hunt" / "mine" / "depth2_seed11" / "recon.npz").is_file()
    assert summary["decisions"][1].startswith("depth 3: undecided: 3 of 3 runs unclassified (3 infeasible)")
    report = (pytester.path / "reports" / "crash_hunt_report.md").read_text()
    assert f"- {summary['decisions'][1]}" in report and (pytester.path / "reports" / "crash_hunt_survival.png").is_file()
