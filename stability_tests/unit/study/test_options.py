"""A study session's options: every pytest option checked before any test runs, one line naming it."""

import pytest

from harness.errors import UsageError

BAD_OPTIONS = [
    ("--depths", "0"), ("--depths", "-2"), ("--depths", "99"), ("--depths", ""), ("--depths", "4,x"),
    ("--crash-depth", 0), ("--crash-depth", 99), ("--epochs", -1), ("--threads-per-run", 0), ("--device", "tpu"),
    ("--profile", "fast"), ("--group-size", -1), ("--group-size", 0), ("--seeds", ""), ("--seeds", ","),
    ("--seeds", "1,1"), ("--n-seeds", 0), ("--n-seeds", -1), ("--arms", ""), ("--arms", "agc,agc"), ("--runs-dir", ""),
    ("--reports-dir", "README.md"), ("--cache-dir", "pyproject.toml"),
    ("--design", "adaptive"), ("--max-seeds", 0), ("--seed-batch", 0), ("--p0", 0.5), ("--p0", float("nan")),
    ("--p1", 1.0), ("--alpha", 0.9), ("--beta", 0.0), ("--futility", -0.1), ("--comparison-test", "t-test"),
    ("--fail-on", "everything"), ("--fail-on", "crashy,crashy"), ("--fail-on", ""),
    ("--probe-source", "zoneplate"), ("--probe-source", "disk,disk"), ("--probe-source", ","),
    ("--probe-source", "disk,ideal_disk"),     # one probe under two names would train twice
    ("--logger", "neptune"),
]


@pytest.mark.parametrize("option, value", BAD_OPTIONS, ids=[f"{o}={v}" for o, v in BAD_OPTIONS])
def test_a_bad_option_is_refused_naming_it(study_options, option, value):
    with pytest.raises(UsageError) as caught:
        study_options(**{option: value})
    assert caught.value.flag == option and len(str(caught.value).splitlines()) == 1


def test_good_options_arrive_as_given(study_options, tmp_path):
    options = study_options(**{"--depths": "6,4", "--seeds": "3,1", "--arms": "agc,control", "--epochs": 0,
                               "--group-size": 2, "--design": "fixed", "--probe-source": "disk,fzp",
                               "--fail-on": "crashy,worse", "--cache-dir": str(tmp_path), "--alpha": 0.1})
    assert (options.depths, options.seeds, options.arms, options.epochs, options.group_size) == (
        [6, 4], [3, 1], ["agc", "control"], 0, 2)
    assert (options.probes, options.fail_on, options.design["--alpha"]) == (["disk", "fzp"], ["crashy", "worse"], 0.1)
    assert options.folders == [(options.runs_dir, "--runs-dir"), (options.reports_dir, "--reports-dir"),
                               (tmp_path, "--cache-dir")]


def test_options_of_the_sequential_design_are_refused_under_a_fixed_one(study_options):
    for option in ("--max-seeds", "--seed-batch"):
        with pytest.raises(UsageError, match=f"{option} 2: applies to the sequential design"):
            study_options(**{"--design": "fixed", option: 2})
