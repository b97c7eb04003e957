"""A researcher's own generator, named by import path, through `harness run` and a crash hunt: verdict,
run folder and reports; each way it can be wrong is one line naming the flag (exit 2) or, in a study, an
`infeasible` run."""

import json

import pytest

from stability_tests.tiny import TINY_STUDIES

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.integration

SMALL = ["--profile", "smoke", "--N", "32", "--fno-width", "8", "--fno-modes", "4", "--set-phi", "--threads", "1"]


def test_harness_run_trains_a_user_generator(user_generators, tmp_path, harness_process, cache_dir):
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
    ("my_generators:real_valued", 2, "it returned torch.float32 (1, 2, 32, 32)"),
    ("my_generators:shallow_only", 4, "ValueError: depth 4 is deeper than I can build"),
])
def test_each_way_a_user_generator_can_be_wrong_is_one_line_naming_the_flag(user_generators, tmp_path, usage_error,
                                                                            name, depth, says):
    folder = tmp_path / "run"
    usage_error(["run", *SMALL, "--architectures", name, "--fno-blocks", str(depth), "--output-dir", str(folder)],
                f"--architectures {name}: ", [folder])
    usage_error(["run", *SMALL, "--architectures", name, "--fno-blocks", str(depth), "--output-dir", str(folder)],
                says, [folder])


STUDIES = TINY_STUDIES.replace('design = "fixed"', "max-seeds = 3").replace('arm = "control"', 'arm = "mine"').replace(
    "depths = [2, 3, 7]", "depths = [2, 3]") + '\n[arms.mine]\narchitectures = "my_generators:shallow_only"\n'


def test_a_smoke_crash_hunt_of_a_user_generator_records_verdicts_and_reports(user_generators, pytester,
                                                                             study_project):
    study_project(pytester, STUDIES)
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
