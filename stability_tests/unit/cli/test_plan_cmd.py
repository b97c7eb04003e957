"""`harness plan`: every option changes what it prints as it should; bad values are one line and exit 2."""

import re

import pytest

from harness.cli.main import main
from harness.run import RunFolder
from harness.run.record import RunRecord
from harness.study.design import Design
from harness.study.operating import shootout_characteristics
from harness.verdict import VERDICT_VERSION


def plan(capsys, *arguments) -> str:
    capsys.readouterr()
    assert main(["plan", *arguments]) == 0
    return capsys.readouterr().out


def power_of(out: str) -> tuple[float, float]:
    found = re.search(r"the others equal to the control: ([0-9.]+) .*alone \(one arm\): ([0-9.]+)", out)
    assert found, out
    return float(found.group(1)), float(found.group(2))


def test_the_arms_selected_set_the_family_of_the_power(capsys):
    three, alone = power_of(plan(capsys))                        # the fixture's three arms and the control
    assert three < alone and "3 arms against the control" in plan(capsys)
    one, _ = power_of(plan(capsys, "--arms", "control,agc"))
    assert one == alone


def test_the_rates_and_the_design_options_reach_the_tables(capsys):
    out = plan(capsys, "--rates", "0.15", "--max-seeds", "10", "--shootout-rates", "0.1,0.6")
    assert re.search(r"^\s+0\.15\s", out, re.M) and "up to 10 seeds per depth" in out
    expected = shootout_characteristics(Design(max_seeds=10).look_plan(), 0.1, 0.6, 3).power
    assert power_of(out)[0] == pytest.approx(expected, abs=0.005)


@pytest.mark.integration
def test_the_power_asked_for_sets_the_budget_searched(capsys):
    low = re.search(r"shootout: --max-seeds (\d+)", plan(capsys, "--power", "0.6")).group(1)
    high = re.search(r"shootout: --max-seeds (\d+)", plan(capsys, "--power", "0.9")).group(1)
    assert int(low) < int(high)


def test_the_runs_folder_gives_the_seconds_per_run(tmp_path, capsys):
    for seed, wall in enumerate((100.0, 300.0, 200.0), start=1):
        folder = RunFolder(tmp_path / "crash_hunt" / "control" / f"depth4_seed{seed}")
        folder.path.mkdir(parents=True)
        folder.write_record(RunRecord(study="crash_hunt", arm="control", architecture="hybrid", depth=4, seed=seed,
                                      outcome="ok", crashed=False, n_epochs=5, config_hash="c0ffee", wall_s=wall,
                                      verdict_version=VERDICT_VERSION))
    assert "Wall time at 200 s per run (median of 3 runs" in plan(capsys, "--runs-dir", str(tmp_path))


@pytest.mark.parametrize("arguments, named", [
    (["--rates", "0.1,1.5"], "--rates 0.1,1.5"),
    (["--rates", "many"], "--rates many"),
    (["--shootout-rates", "0.1"], "--shootout-rates 0.1"),
    (["--power", "1.5"], "--power 1.5"),
    (["--arms", "nosuch"], "--arms nosuch"),
    (["--max-seeds", "0"], "--max-seeds"),
    (["--runs-dir", "/nonexistent/runs"], "--runs-dir /nonexistent/runs"),
])
def test_a_bad_value_is_one_line_naming_it(arguments, named, usage_error):
    usage_error(["plan", *arguments], named, [])
