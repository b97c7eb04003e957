"""fixtures/profiles.toml: a malformed profile is one error naming the file, the profile and the key."""

import shutil
from pathlib import Path

import pytest

from harness.errors import UsageError
from harness.fixtures import FIXTURES_ENV
from harness.profiles import load_profile

REAL = Path(__file__).parents[2] / "fixtures" / "profiles.toml"
BROKEN = [
    ("epochs = 8 ", 'epochs = "two" ', "[quick] epochs"),
    ("epochs = 8 ", "epochs = 8\nlearning_rate = 3 ", "[quick] learning_rate"),
    ("epochs = 8 ", "", "[quick] epochs"),
    ("[quick]", "[quick", "is not valid TOML"),
    ("patch_size = 32 ", "patch_size = 4 ", "[quick] patch_size 4: must be within [8, 2048]"),
    ("width = 16", "width = 0", "[quick] width 0: must be within [1, 4096]"),
]


@pytest.mark.parametrize("original, broken, named", BROKEN, ids=["type", "unknown", "missing", "syntax", "scale",
                                                                 "width"])
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


def _quick_config(tmp_path, monkeypatch, replace: tuple[str, str] | None = None, **settings):
    """The control arm's depth-4 RunConfig under a (possibly edited) quick profile."""
    from harness.study.definitions import CRASH_HUNT, load_studies, run_config_for

    text = REAL.read_text()
    if replace:
        assert replace[0] in text
        text = text.replace(*replace, 1)
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "profiles.toml").write_text(text)
    shutil.copy(REAL.parent / "studies.toml", tmp_path / "studies.toml")
    shutil.copy(REAL.parent / "probes.toml", tmp_path / "probes.toml")
    monkeypatch.setenv(FIXTURES_ENV, str(tmp_path))
    return run_config_for(load_studies(), study=CRASH_HUNT, arm="control", depth=4, seed=1, profile="quick",
                          device="cpu", **settings)


def test_the_profile_scale_reaches_the_run_its_hash_and_config_json(tmp_path, monkeypatch):
    from harness.profiles import load_profile

    profile = load_profile("quick")
    config = _quick_config(tmp_path / "a", monkeypatch)
    assert (config.data.N, config.model.n, config.model.width, config.model.max_hidden_channels) == (
        profile.patch_size, profile.patch_size, profile.width, profile.max_hidden_channels)
    written = config.as_dict()   # what config.json holds (run/recording.py writes it)
    assert (written["width"], written["max_hidden_channels"], written["data"]["N"]) == (16, 128, 32)
    for replace, field in ((("patch_size = 32 ", "patch_size = 24 "), "N"), (("width = 16", "width = 8"), "width"),
                           (("max_hidden_channels = 128", "max_hidden_channels = 64"), "cap")):
        changed = _quick_config(tmp_path / field, monkeypatch, replace)
        assert changed != config and changed.config_hash != config.config_hash, field


def test_a_study_setting_or_flag_wins_over_the_profile_scale(tmp_path, monkeypatch):
    from harness.run.configure import configs_from_settings

    (config,) = configs_from_settings({"profile": "quick", "N": 64, "fno-blocks": 4, "device": "cpu"})
    assert (config.data.N, config.model.n, config.model.width) == (64, 64, 16)
    (paper,) = configs_from_settings({"profile": "paper", "fno-blocks": 4, "device": "cpu"})
    assert (paper.data.N, paper.model.width, paper.model.max_hidden_channels) == (64, 32, 512)


def test_an_auto_table_is_refused_auto_picks_a_profile(tmp_path, monkeypatch):
    (tmp_path / "profiles.toml").write_text(REAL.read_text() + "\n[auto]\nobject_size = 64\ntrain_stride = 4\n"
                                            "test_stride = 8\nepochs = 1\ncollapse_patience = 1\n")
    monkeypatch.setenv(FIXTURES_ENV, str(tmp_path))
    with pytest.raises(UsageError, match=r"profiles.toml \[auto\] : auto is not a profile of its own"):
        load_profile("auto")
