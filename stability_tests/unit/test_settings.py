"""The settings: flag names and defaults, their translation into RunConfig, and the studies' arms meaning
exactly what the same flags mean on the command line."""

import dataclasses

import pytest

from harness.cli.main import build_parser
from harness.errors import UsageError
from harness.settings import DEFAULT_SEED, configs_from_settings, run_configs
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
    from harness import environment

    monkeypatch.setattr(environment, "native_bf16_cpu", lambda: None)
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
    (["--probe-defocus", "2"], lambda c: c.data.probe_defocus, 2.0),
]


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


def test_settings_written_as_data_mean_what_the_flags_mean():
    written = configs_from_settings({"profile": "smoke", "device": "cpu", "fno-blocks": 3, "torch-grad-clip": 0.1,
                                     "torch-grad-clip-algorithm": "agc-per-tensor", "set-phi": True,
                                     "torch-betas": [0.8, 0.99]}, "a test table")[0]
    typed = configs("--profile", "smoke", "--device", "cpu", "--fno-blocks", "3", "--torch-grad-clip", "0.1",
                    "--torch-grad-clip-algorithm", "agc-per-tensor", "--set-phi", "--torch-betas", "0.8", "0.99")[0]
    assert written == typed and written.config_hash == typed.config_hash


def test_a_setting_that_is_no_flag_names_the_table():
    with pytest.raises(UsageError, match="a test table.*--torch-grad-clipp"):
        configs_from_settings({"profile": "smoke", "torch-grad-clipp": 1.0}, "a test table")
