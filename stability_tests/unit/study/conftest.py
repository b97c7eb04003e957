"""The pytest options of a study session as a fixture: the defaults pytest gives, with some replaced."""

import pytest

from harness.study.options import StudyOptions

DEFAULTS = {"--profile": "smoke", "--depths": None, "--seeds": None, "--n-seeds": None, "--arms": None,
            "--crash-depth": None, "--epochs": None, "--runs-dir": "runs", "--reports-dir": "reports", "--rerun": False,
            "--device": "auto", "--cache-dir": None, "--count-unfinished-as-crash": False, "--threads-per-run": 1,
            "--group-size": None, "--design": None, "--max-seeds": None, "--seed-batch": None, "--p0": None,
            "--p1": None, "--alpha": None, "--beta": None, "--futility": None, "--comparison-test": None,
            "--hunt-arm": None, "--probe-source": None, "--fail-on": None, "--logger": "csv", "--data-npz": None,
            "--test-data-npz": None}


class PytestOptions:
    """What StudyOptions.from_pytest reads of pytest's config."""

    def __init__(self, **given):
        unknown = set(given) - set(DEFAULTS)
        assert not unknown, f"not a study option: {unknown}"
        self.values = {**DEFAULTS, **given}

    def getoption(self, name):
        return self.values[name]


@pytest.fixture
def study_options():
    """study_options(**{"--depths": "6,4"}) → the StudyOptions pytest would make of those options."""
    return lambda **given: StudyOptions.from_pytest(PytestOptions(**given))
