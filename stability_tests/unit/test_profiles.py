"""fixtures/profiles.toml: a malformed profile is one error naming the file, the profile and the key."""

import shutil
from pathlib import Path

import pytest

from harness.errors import UsageError
from harness.profiles import FIXTURES_ENV, load_profile

REAL = Path(__file__).parents[2] / "fixtures" / "profiles.toml"
BROKEN = [
    ("epochs = 7 ", 'epochs = "two" ', "[quick] epochs"),
    ("epochs = 7 ", "epochs = 7\nlearning_rate = 3 ", "[quick] learning_rate"),
    ("epochs = 7 ", "", "[quick] epochs"),
    ("[quick]", "[quick", "is not valid TOML"),
]


@pytest.mark.parametrize("original, broken, named", BROKEN, ids=["type", "unknown", "missing", "syntax"])
def test_a_malformed_profile_names_the_file_and_the_key(tmp_path, monkeypatch, original, broken, named):
    text = REAL.read_text()
    assert original in text
    (tmp_path / "profiles.toml").write_text(text.replace(original, broken, 1))
    shutil.copy(REAL.parent / "studies.toml", tmp_path / "studies.toml")
    monkeypatch.setenv(FIXTURES_ENV, str(tmp_path))
    with pytest.raises(UsageError) as caught:
        load_profile("quick")
    assert str(tmp_path / "profiles.toml") in str(caught.value) and named in str(caught.value)


def test_an_unknown_profile_lists_the_known_ones():
    with pytest.raises(UsageError, match="--profile fast: unknown profile .*paper, quick, smoke"):
        load_profile("fast")
