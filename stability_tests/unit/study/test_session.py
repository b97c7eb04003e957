"""A study session's options: every pytest option checked before any test runs, one line naming it."""

import pytest

from harness.errors import UsageError
from harness.study.session import StudyOptions, StudySession

DEFAULTS = {"--profile": "smoke", "--depths": None, "--seeds": None, "--n-seeds": None, "--arms": None,
            "--crash-depth": None, "--epochs": None, "--runs-dir": "runs", "--reports-dir": "reports", "--rerun": False,
            "--device": "auto", "--cache-dir": None, "--count-unfinished-as-crash": False, "--threads-per-run": 1,
            "--group-size": None, "--design": None, "--max-seeds": None, "--seed-batch": None, "--p0": None,
            "--p1": None, "--alpha": None, "--beta": None, "--futility": None, "--comparison-test": None,
            "--hunt-arm": None, "--probe-source": None, "--fail-on": None}


class Options:
    def __init__(self, **given):
        self.values = {**DEFAULTS, **given}

    def getoption(self, name):
        return self.values[name]


BAD_OPTIONS = [
    ("--depths", "0"), ("--depths", "-2"), ("--depths", "99"), ("--depths", ""), ("--depths", "4,x"),
    ("--crash-depth", 0), ("--crash-depth", 99), ("--epochs", -1), ("--threads-per-run", 0), ("--device", "tpu"),
    ("--profile", "fast"), ("--group-size", -1), ("--group-size", 0), ("--seeds", ""), ("--seeds", ","),
    ("--seeds", "1,1"), ("--n-seeds", 0), ("--n-seeds", -1), ("--arms", ""), ("--arms", "agc,agc"), ("--runs-dir", ""),
    ("--reports-dir", "README.md"), ("--cache-dir", "pyproject.toml"),
    ("--design", "adaptive"), ("--max-seeds", 0), ("--seed-batch", 0), ("--p0", 0.5), ("--p0", float("nan")),
    ("--p1", 1.0), ("--alpha", 0.9), ("--beta", 0.0), ("--futility", -0.1), ("--comparison-test", "t-test"),
    ("--fail-on", "everything"), ("--fail-on", "crashy,crashy"), ("--fail-on", ""),
]


@pytest.mark.parametrize("option, value", BAD_OPTIONS, ids=[f"{o}={v}" for o, v in BAD_OPTIONS])
def test_a_bad_option_is_refused_naming_it(option, value):
    with pytest.raises(UsageError) as caught:
        StudyOptions.from_pytest(Options(**{option: value}))
    assert caught.value.flag == option and len(str(caught.value).splitlines()) == 1


def test_an_unknown_arm_is_refused_when_the_session_starts():
    with pytest.raises(UsageError, match="--arms nonexistent: unknown arm"):
        StudySession(StudyOptions.from_pytest(Options(**{"--arms": "control,nonexistent"})))


def test_good_options_arrive_as_given():
    options = StudyOptions.from_pytest(Options(**{"--depths": "6,4", "--seeds": "3,1", "--arms": "agc,control",
                                                  "--epochs": 0, "--group-size": 2, "--design": "fixed"}))
    assert (options.depths, options.seeds, options.arms, options.epochs, options.group_size) == (
        [6, 4], [3, 1], ["agc", "control"], 0, 2)
    session = StudySession(options)
    assert session.design.design == "fixed"
    assert [(c.depth, c.seed) for c in session.cases("crash_hunt")] == [(6, 3), (6, 1), (4, 3), (4, 1)]
    session.check_configurations()  # every run of the matrix configures


def test_a_sequential_session_plans_its_budget_batch_by_batch():
    session = StudySession(StudyOptions.from_pytest(Options(**{"--depths": "6,4", "--max-seeds": 5, "--seed-batch": 2,
                                                                "--p1": 0.4, "--alpha": 0.01})))
    base = session.studies.crash_hunt["seed_base"]
    assert session.seeds("crash_hunt") == [base + k for k in range(5)]
    assert (session.design.p1, session.design.alpha, session.design.looks) == (0.4, 0.01, (2, 4, 5))
    assert [(c.depth, c.seed - base) for c in session.cases("crash_hunt")] == [
        (6, 0), (4, 0), (6, 1), (4, 1), (6, 2), (4, 2), (6, 3), (4, 3), (6, 4), (4, 4)]  # seed by seed in a batch
    given = StudySession(StudyOptions.from_pytest(Options(**{"--seeds": "9,3,7"})))
    assert given.seeds("shootout") == [3, 7, 9]  # the order the decisions read them


def test_an_incomplete_json_report_never_replaces_the_last_complete_one(tmp_path):
    from harness.study.plugin import finish_json_report

    final = tmp_path / "pytest_report.json"
    final.write_text('{"tests": []}')
    partial = tmp_path / ".pytest_report.json.partial"
    partial.write_text('{"tests": [{"nodeid": "a"')  # cut off at the disk's end
    assert finish_json_report(partial, final) is False
    assert final.read_text() == '{"tests": []}' and not partial.exists()
    partial.write_text('{"tests": [{"nodeid": "a"}]}')
    assert finish_json_report(partial, final) is True and '"a"' in final.read_text() and not partial.exists()


def _finish(session, case, outcome):
    """A finished run folder for this case, as a training run leaves it (its stats.json, hash included)."""
    from harness.run import RunFolder
    from harness.run.record import RunRecord

    config = session._config(case, case.seed)
    folder = RunFolder(config.default_folder(session.options.runs_dir))
    folder.path.mkdir(parents=True, exist_ok=True)
    folder.write_record(RunRecord(study=case.study, arm=case.arm, architecture="hybrid", depth=case.depth,
                                  seed=case.seed, outcome=outcome, crashed=outcome == "crashed",
                                  reasons=("nonfinite",) * (outcome == "crashed"), n_epochs=3,
                                  config_hash=config.config_hash))


def test_a_shootout_skips_the_seeds_of_a_comparison_decided_at_an_earlier_look(tmp_path):
    from harness.study.records import StudyCase

    session = StudySession(StudyOptions.from_pytest(Options(**{"--runs-dir": str(tmp_path), "--arms": "control,agc,adamw",
                                                                "--max-seeds": 20})))
    seeds = session.seeds("shootout")
    case = lambda arm, index: StudyCase("shootout", arm, 6, seeds[index])  # noqa: E731
    for index in range(10):  # 10 of 10 control runs crash, agc's never, adamw as the control
        _finish(session, case("control", index), "crashed")
        _finish(session, case("agc", index), "ok")
        _finish(session, case("adamw", index), "crashed")
    assert session.skip_reason(case("agc", 4)) is None          # a seed of a look already taken is never skipped
    reason = session.skip_reason(case("agc", 10))
    assert reason.startswith("agc vs control decided fewer crashes at look 2 (10 seeds): p = ")
    assert "adamw vs control decided no difference (futility)" in session.skip_reason(case("adamw", 10))
    assert session.skip_reason(case("control", 10)) is not None  # every comparison decided: the control too
    fixed = StudySession(StudyOptions.from_pytest(Options(**{"--runs-dir": str(tmp_path), "--design": "fixed"})))
    assert fixed.skip_reason(case("agc", 10)) is None
    other = StudySession(StudyOptions.from_pytest(Options(**{"--runs-dir": str(tmp_path), "--epochs": 5,
                                                              "--arms": "control,agc,adamw"})))
    assert other.finished_records(case("agc", 0)) == []          # another configuration's folders are not read
    assert other.skip_reason(case("agc", 10)) is None


def test_a_named_set_of_arms_and_the_crash_hunt_of_any_arm():
    import importlib.util

    session = StudySession(StudyOptions.from_pytest(Options(**{"--arms": "architectures", "--hunt-arm": "fno-vanilla",
                                                                "--design": "fixed"})))
    assert session.options.arms == ["control", "fno-vanilla", "neuralop-uno"]
    assert {case.arm for case in session.cases("crash_hunt")} == {"fno-vanilla"}
    assert session._config(session.cases("crash_hunt")[0], 1).model.architecture == "fno_vanilla"
    if importlib.util.find_spec("neuralop") is not None:
        session.check_configurations()
    with pytest.raises(UsageError, match="--hunt-arm resnet: unknown arm"):
        StudySession(StudyOptions.from_pytest(Options(**{"--hunt-arm": "resnet"})))


def test_a_sequential_session_hands_tests_to_xdist_workers_one_at_a_time():
    from types import SimpleNamespace

    from harness.study.plugin import _schedule_for_the_design

    def configured(design, **option):
        config = SimpleNamespace(option=SimpleNamespace(dist="load", maxschedchunk=None, **option))
        config.getoption = lambda name, default=None: getattr(config.option, name, default)
        _schedule_for_the_design(config, StudySession(StudyOptions.from_pytest(Options(**{"--design": design}))))
        return config.option

    assert configured("sequential").maxschedchunk == 1
    assert configured("fixed").maxschedchunk is None   # a fixed matrix keeps xdist's chunks


def test_the_probe_as_a_study_factor_runs_every_arm_once_per_probe():
    from harness.study.records import StudyCase

    session = StudySession(StudyOptions.from_pytest(Options(**{"--probe-source": "disk,fzp", "--depths": "4",
                                                                "--design": "fixed"})))
    cases = session.cases("crash_hunt")
    assert {case.arm for case in cases} == {"control@disk", "control@fzp"} and len(cases) == 2 * 3
    probes = {case.arm: session._config(case, case.seed).data.probe_source for case in cases}
    assert probes == {"control@disk": "disk", "control@fzp": "fzp"}
    case = next(c for c in cases if c.arm == "control@fzp")
    assert case.test_id == f"depth4@fzp-seed{case.seed}"
    assert StudyCase.from_nodeid(f"s.py::test_crash_hunt[{case.test_id}]", session.hunt_arm) == case
    folders = {session._config(c, c.seed).default_folder("runs") for c in cases}
    assert len(folders) == len(cases)                          # each probe's runs in folders of their own
    assert session.shootout_arms()[0] == "control@disk" and session.control == "control@disk"
    for bad in ("zoneplate", "disk,disk", ","):
        with pytest.raises(UsageError, match="--probe-source"):
            StudyOptions.from_pytest(Options(**{"--probe-source": bad}))


def _hunt_summary(reports, decisions: dict[int, str], crash_depth=None):
    import json

    reports.mkdir(parents=True, exist_ok=True)
    (reports / "crash_hunt_summary.json").write_text(json.dumps({
        "design": {}, "crash_depth": crash_depth, "decisions": [f"depth {d}: {v}" for d, v in decisions.items()],
        "depths": [{"depth": d, "decision": {"decision": v}} for d, v in decisions.items()]}))


@pytest.mark.parametrize("profile, expected", [("quick", 4), ("paper", 6)])
def test_with_no_crashy_depth_the_shootout_runs_at_the_deepest_stable_depth_every_arm_builds(tmp_path, profile, expected):
    _hunt_summary(tmp_path, {4: "stable", 6: "stable", 8: "undecided"})
    session = StudySession(StudyOptions.from_pytest(Options(**{"--profile": profile, "--reports-dir": str(tmp_path)})))
    chosen = session.shootout_depth()
    assert chosen.depth == expected
    assert "decided no depth crashy" in chosen.why and f"depth {expected} is the deepest" in chosen.why
    if profile == "quick":  # N=32: depth 6 reaches 1×1 pixel, where the layerscale arm's normalisation is undefined
        assert "depth 6 was passed over: layerscale:" in chosen.why


def test_the_shootout_runs_at_the_crash_depth_and_without_a_stable_or_crashy_depth_asks_for_one(tmp_path):
    _hunt_summary(tmp_path / "crashy", {4: "stable", 6: "crashy"}, crash_depth=6)
    session = StudySession(StudyOptions.from_pytest(Options(**{"--reports-dir": str(tmp_path / "crashy")})))
    assert session.shootout_depth().depth == 6 and "crash depth" in session.shootout_depth().why
    _hunt_summary(tmp_path / "none", {4: "undecided", 6: "undecided"})
    session = StudySession(StudyOptions.from_pytest(Options(**{"--reports-dir": str(tmp_path / "none")})))
    with pytest.raises(LookupError, match="pass --crash-depth D"):
        session.shootout_depth()
    given = StudySession(StudyOptions.from_pytest(Options(**{"--crash-depth": 5, "--reports-dir": str(tmp_path / "none")})))
    assert given.shootout_depth().depth == 5
