"""Settings → RunConfig: every flag reaching its configuration field and hash, the defaults, the checks of every
number and folder, and the studies' arms meaning exactly what the same flags mean on the command line."""

import dataclasses
import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from harness.cli.main import build_parser
from harness.errors import UsageError
from harness.run.configure import configs_from_settings, run_configs
from harness.settings import DEFAULT_SEED, NUMBERS
from harness.train import TrainConfig

PAPER_RUN = ["run", "--N", "64", "--set-phi", "--torch-epochs", "30", "--device", "cpu", "--seed", "1", "2"]


def configs(*arguments):
    return run_configs(build_parser().parse_args(["run", *arguments]))


def test_the_command_line_means_the_paper_protocol_unless_told_otherwise(monkeypatch, capsys):
    """The wrapper's flags keep their meaning on every machine: no silent quick profile on a CPU."""
    import torch

    paper = run_configs(build_parser().parse_args(PAPER_RUN))
    assert [c.profile for c in paper] == ["paper", "paper"] and [c.seed for c in paper] == [1, 2]
    assert paper[0].data.n_train_patches == 6889 and paper[0].train.epochs == 30
    auto = run_configs(build_parser().parse_args([*PAPER_RUN, "--profile", "auto"]))[0]
    assert auto.profile == ("paper" if torch.cuda.is_available() else "quick")  # what the studies default to
    from harness.run import configure

    monkeypatch.setattr(configure, "native_bf16_cpu", lambda: None)
    run_configs(build_parser().parse_args([*PAPER_RUN, "--bf16"]))
    assert "--bf16 on a CPU without native bfloat16" in capsys.readouterr().err


# Each flag, a value other than its default, and where that value must arrive in the RunConfig.
FLAG_TARGETS = [
    (["--fno-blocks", "3"], lambda c: c.model.depth, 3),
    (["--fno-width", "16"], lambda c: c.model.width, 16),
    (["--fno-modes", "6"], lambda c: c.model.modes, 6),
    (["--torch-max-hidden-channels", "64"], lambda c: c.model.max_hidden_channels, 64),
    (["--architectures", "stable_hybrid"], lambda c: c.model.architecture, "stable_hybrid"),
    (["--N", "32", "--test-stride", "8"], lambda c: (c.model.n, c.data.N), (32, 32)),
    (["--torch-learning-rate", "0.02"], lambda c: c.train.learning_rate, 0.02),
    (["--torch-weight-decay", "0.1"], lambda c: c.train.weight_decay, 0.1),
    (["--torch-betas", "0.8", "0.9"], lambda c: c.train.betas, (0.8, 0.9)),
    (["--torch-grad-clip", "0.5"], lambda c: c.train.grad_clip, 0.5),
    (["--torch-grad-clip-algorithm", "agc"], lambda c: c.train.grad_clip_algorithm, "agc"),
    (["--torch-scheduler", "WarmupCosine"], lambda c: c.train.scheduler, "WarmupCosine"),
    (["--torch-lr-warmup-epochs", "3"], lambda c: c.train.warmup_epochs, 3),
    (["--torch-lr-min-ratio", "0.05"], lambda c: c.train.min_lr_ratio, 0.05),
    (["--torch-optimizer", "sgd"], lambda c: c.train.optimizer, "sgd"),
    (["--torch-loss-mode", "poisson"], lambda c: c.train.loss_mode, "poisson"),
    (["--torch-batch-size", "8"], lambda c: c.train.batch_size, 8),
    (["--torch-epochs", "5"], lambda c: c.train.epochs, 5),
    (["--nepochs", "6"], lambda c: c.train.epochs, 6),
    (["--torch-log-grad-norm", "--torch-grad-norm-log-freq", "4"], lambda c: (c.train.log_grad_norm,
                                                                               c.train.grad_norm_log_freq), (True, 4)),
    (["--collapse-patience", "2"], lambda c: c.train.collapse_patience, 2),
    (["--no-channels-last"], lambda c: c.train.channels_last, False),
    (["--nphotons", "1e6"], lambda c: c.data.nphotons, 1e6),
    (["--train-stride", "12"], lambda c: c.data.train_stride, 12),
    (["--probe-defocus", "2"], lambda c: (c.data.probe_source, c.data.probe_defocus), ("disk", 2.0)),
    (["--probe-source", "disk"], lambda c: c.data.probe_source, "disk"),
]


def as_data(flags: list[str]) -> dict:
    """The flags as a fixture table writes them: keys without --, TOML's types (numbers, true, lists)."""
    data: dict = {}
    for word in flags:
        if word.startswith("--"):
            key = word.removeprefix("--")
            data[key] = True
            continue
        value = json.loads(word) if word[0].isdigit() else word
        data[key] = value if data[key] is True else [*np.atleast_1d(data[key]).tolist(), value]
    return data


@pytest.mark.parametrize("flags, target, expected", FLAG_TARGETS, ids=[" ".join(f[0]) for f in FLAG_TARGETS])
def test_every_setting_written_as_data_reaches_the_same_field_and_hash_as_its_flag(flags, target, expected):
    (from_flags,) = configs("--profile", "smoke", "--device", "cpu", *flags)
    (from_data,) = configs_from_settings({"profile": "smoke", "device": "cpu", **as_data(flags)})
    assert target(from_data) == expected
    assert from_data.config_hash == from_flags.config_hash


@pytest.mark.parametrize("flags, target, expected", FLAG_TARGETS, ids=[" ".join(f[0]) for f in FLAG_TARGETS])
def test_every_flag_reaches_the_run_configuration_and_its_hash(flags, target, expected):
    base = configs("--profile", "smoke", "--device", "cpu")[0]
    changed = configs("--profile", "smoke", "--device", "cpu", *flags)[0]
    assert target(changed) == expected and target(base) != expected
    assert changed.config_hash != base.config_hash


def test_every_default_is_the_documented_one():
    (config,) = configs("--profile", "smoke", "--device", "cpu")
    assert config.seed == DEFAULT_SEED == TrainConfig().seed
    assert dataclasses.asdict(config.train) == {**dataclasses.asdict(TrainConfig()), "epochs": 2}  # smoke's epochs
    assert (config.model.architecture, config.model.depth, config.model.width, config.model.modes,
            config.model.max_hidden_channels) == ("hybrid", 4, 32, 12, None)


def test_the_probe_is_the_zone_plate_unless_a_disk_setting_or_a_file_is_given(tmp_path):
    from harness.data.simulation import resolve_probe
    from harness.physics.probe import make_synthetic_probe, probe_symmetry

    default = configs("--profile", "smoke", "--device", "cpu")[0].data
    assert not probe_symmetry(resolve_probe(default)[0])["exact_twin"]  # the preset without an exact twin
    np.savez(tmp_path / "probe.npz", probeGuess=make_synthetic_probe(64) * 2)
    from_file = configs("--profile", "smoke", "--device", "cpu", "--probe-npz", str(tmp_path / "probe.npz"))[0].data
    np.testing.assert_array_equal(resolve_probe(from_file)[0], make_synthetic_probe(64) * 2)
    assert configs("--profile", "smoke", "--device", "cpu", "--probe-defocus", "1")[0].data.probe_source == "disk"
    for flags, named in ((["--probe-npz", str(tmp_path / "probe.npz")], "--probe-source fzp"),
                         (["--probe-defocus", "1"], "--probe-defocus 1.0")):
        with pytest.raises(UsageError, match=named):
            configs("--profile", "smoke", "--device", "cpu", "--probe-source", "fzp", *flags)[0].data.validate()


def test_settings_written_as_data_mean_what_the_flags_mean():
    written = configs_from_settings({"profile": "smoke", "device": "cpu", "fno-blocks": 3, "torch-grad-clip": 0.1,
                                     "torch-grad-clip-algorithm": "agc-per-tensor", "set-phi": True,
                                     "torch-betas": [0.8, 0.99]})[0]
    typed = configs("--profile", "smoke", "--device", "cpu", "--fno-blocks", "3", "--torch-grad-clip", "0.1",
                    "--torch-grad-clip-algorithm", "agc-per-tensor", "--set-phi", "--torch-betas", "0.8", "0.99")[0]
    assert written == typed and written.config_hash == typed.config_hash


def test_a_setting_that_is_no_flag_names_it():
    with pytest.raises(UsageError, match="--torch-grad-clipp 1.0: not a `harness run` setting"):
        configs_from_settings({"profile": "smoke", "torch-grad-clipp": 1.0})


# --- bad numbers ----------------------------------------------------------------------------------------

BAD = ["nan", "inf", "-inf", "1e300", "-1e300", str(10**21), "-3"]


def words(flag: str, value: str) -> list[str]:
    """The flag and its value as typed (`--flag=value`, so that argparse reads '-inf' as a value)."""
    return [flag, value, value] if flag == "--torch-betas" else [f"{flag}={value}"]


def attempt(arguments: list[str]):
    """run_configs of `harness run ARGUMENTS`: the configurations, or the UsageError / argparse exit."""
    try:
        return configs("--profile", "smoke", "--device", "cpu", *arguments)
    except UsageError as exc:
        return exc
    except SystemExit as exc:
        return exc


@pytest.mark.parametrize("flag", sorted(NUMBERS))
@pytest.mark.parametrize("value", BAD)
def test_a_number_out_of_range_or_not_finite_is_refused_naming_its_flag(flag, value):
    outcome = attempt(words(flag, value))
    if isinstance(outcome, list):  # accepted: then the value is in range and reached the configuration
        assert value == "-3" and flag in ("--torch-grad-clip", "--probe-defocus")  # ≤ 0: no clipping; a phase
    elif isinstance(outcome, SystemExit):  # argparse: not a number of the flag's type at all
        assert outcome.code == 2 and (NUMBERS[flag][2] is int or flag == "--torch-betas" and value.startswith("-"))
    else:
        named = float(outcome.value)
        assert outcome.flag == flag and (named == float(value) or math.isnan(named) and value == "nan"), outcome


@hypothesis_settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flag=st.sampled_from(sorted(NUMBERS)),
       value=st.one_of(st.integers(-10**25, 10**25), st.floats(allow_nan=True, allow_infinity=True),
                       st.sampled_from(["", "text", "1e", "0x10", " "])))
def test_no_value_of_any_numeric_flag_gets_past_the_checks_unchecked(flag, value):
    """Every value of every numeric flag is either refused with that flag, or arrives inside its range."""
    text = str(value)
    outcome = attempt(words(flag, text))
    low, high, kind = NUMBERS[flag]
    if isinstance(outcome, list):
        number = kind(float(text)) if kind is float else int(text)
        assert low <= number <= high
    elif isinstance(outcome, SystemExit):
        assert outcome.code == 2
    else:
        assert isinstance(outcome, UsageError) and outcome.flag in (flag, "--N", "--test-stride", "--object-size",
                                                                     "--n-seeds", "--torch-max-hidden-channels")


@pytest.mark.parametrize("flag", ["--object-size", "--train-stride", "--test-stride"])
def test_a_zero_is_refused_not_replaced_by_the_profiles_value(flag):
    outcome = attempt(words(flag, "0"))
    assert isinstance(outcome, UsageError) and outcome.flag == flag


@pytest.mark.parametrize("flag", ["--output-dir", "--runs-dir", "--cache-dir"])
def test_an_empty_folder_flag_or_a_file_is_refused(flag, usage_error, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    usage_error(["run", "--profile", "smoke", f"{flag}="], f"{flag} ''", [tmp_path / "config.json"])
    (tmp_path / "a_file").write_text("mine")
    usage_error(["run", "--profile", "smoke", f"{flag}=a_file"], f"{flag} a_file: is a file",
                [tmp_path / "config.json", tmp_path / "runs"])
    usage_error(["dataset", "--profile", "smoke", "--cache-dir=a_file"], "--cache-dir a_file: is a file", [])


@pytest.mark.parametrize("flag, value", [("--arm", "../../../x"), ("--study", "/tmp/elsewhere"), ("--arm", ""),
                                         ("--study", ".."), ("--arm", "a/b")])
def test_a_study_or_arm_is_a_name_never_a_path(flag, value, usage_error, tmp_path):
    runs = tmp_path / "runs"
    usage_error(["run", "--profile", "smoke", f"--runs-dir={runs}", f"{flag}={value}"], f"{flag} {value!r}: must be a "
                "name", [runs, tmp_path / "x"])


def test_nepochs_beside_a_different_torch_epochs_is_refused_and_a_long_warm_up_warned(capsys):
    assert isinstance(attempt(["--torch-epochs", "3", "--nepochs", "4"]), UsageError)
    attempt(["--torch-epochs", "3", "--torch-scheduler", "WarmupCosine", "--torch-lr-warmup-epochs", "5"])
    assert "never leaves its warm-up" in capsys.readouterr().err


NOT_A_VALUE_OF_ANY_FLAG = ["nan", "inf", "-inf", "1e300", "-1e300", str(10**25), "text", "1e", "0x1p3"]


@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flag=st.sampled_from(sorted(NUMBERS)), value=st.sampled_from(NOT_A_VALUE_OF_ANY_FLAG))
def test_harness_run_refuses_every_such_value_in_one_line_and_writes_nothing(flag, value, tmp_path_factory,
                                                                            usage_error):
    folder = tmp_path_factory.mktemp("fuzz")
    arguments = [flag, value, value] if flag == "--torch-betas" else [f"{flag}={value}"]
    runs, cache = folder / "runs", folder / "cache"
    named = flag if not value.startswith("-") or flag != "--torch-betas" else "--torch-betas"
    usage_error(["run", "--profile", "smoke", f"--runs-dir={runs}", f"--cache-dir={cache}", *arguments], named,
                [runs, cache])


def test_an_unwritable_cache_folder_is_refused_before_anything_is_written(usage_error, tmp_path):
    usage_error(["run", "--profile", "smoke", "--cache-dir=/proc/forbidden", f"--output-dir={tmp_path / 'run'}"],
                "--cache-dir /proc/forbidden", [tmp_path / "run"])


def test_objects_per_seed_give_each_seed_its_own_draw_and_the_same_seed_the_same():
    from harness.data.simulation import _split_arrays

    shared = configs("--profile", "smoke", "--device", "cpu", "--seed", "1", "2")
    assert shared[0].data == shared[1].data                      # the original protocol: one object pair
    own = configs("--profile", "smoke", "--device", "cpu", "--seed", "1", "2", "--objects-per-seed")
    again = configs("--profile", "smoke", "--device", "cpu", "--seed", "2", "--objects-per-seed")[0]
    assert own[1].data == again.data and own[1].data.cache_key() == again.data.cache_key()   # cached, shared
    first, second = (config.data for config in own)
    assert len({first.train_seed, first.test_seed, second.train_seed, second.test_seed}) == 4
    assert first.cache_key() != second.cache_key() != shared[0].data.cache_key()
    objects = [_split_arrays(data, 1, data.test_stride, data.test_seed)["Y"] for data in (first, second)]
    assert not np.allclose(objects[0], objects[1])               # other objects, not only other keys


def test_a_measured_file_gives_the_runs_its_patch_size_and_its_content_their_hash(tmp_path, tiny_dataset):
    from harness.data.ptycho_npz import simulated_as_ptycho_npz, write_ptycho_npz

    arrays, _ = simulated_as_ptycho_npz(tiny_dataset, "test")
    write_ptycho_npz(tmp_path / "data.npz", **arrays)
    base = ("--profile", "quick", "--device", "cpu", "--data-npz", str(tmp_path / "data.npz"))
    (config,) = configs(*base)
    # the quick profile's patch size is 32 too: the file's N wins over a profile of another size
    assert config.data.measured and config.data.N == config.model.n == 32
    assert configs("--profile", "paper", "--device", "cpu", "--data-npz", str(tmp_path / "data.npz"))[0].model.n == 32
    first = config.config_hash
    assert configs(*base, "--test-fraction", "0.3")[0].config_hash != first
    arrays["diffraction"] = arrays["diffraction"][::-1].copy()
    write_ptycho_npz(tmp_path / "data.npz", **arrays)
    assert configs(*base)[0].config_hash != first     # the file's content, not its path
    for flags, named in ((["--probe-source", "disk"], "--probe-source disk"), (["--N", "64"], "--N 64"),
                         (["--probe-defocus", "1"], "--probe-defocus 1.0"), (["--objects-per-seed"], "--objects-per-seed")):
        with pytest.raises(UsageError, match=named):
            configs(*base, *flags)
    with pytest.raises(UsageError, match="--data-npz"):
        configs("--profile", "quick", "--device", "cpu", "--data-npz", str(tmp_path / "missing.npz"))
    with pytest.raises(UsageError, match="--test-data-npz"):
        configs("--profile", "quick", "--device", "cpu", "--test-data-npz", str(tmp_path / "data.npz"))[0].data.validate()
