"""fixtures/studies.toml: the protocol and every arm reach the run configuration."""

import pytest

from harness.errors import UsageError
from harness.study import CRASH_HUNT, SHOOTOUT, load_studies, run_config_for


@pytest.fixture(scope="module")
def studies():
    return load_studies()


def config(studies, arm, depth=6, seed=20260128, study=SHOOTOUT, **kwargs):
    return run_config_for(studies, study=study, arm=arm, depth=depth, seed=seed, profile="quick", device="cpu", **kwargs)


def test_crash_hunt_definition(studies):
    assert studies.crash_hunt["depths"] == [4, 6, 8]
    assert studies.crash_hunt_seeds() == [20260128, 20260129, 20260130]
    assert studies.seeds_from_base(CRASH_HUNT, 5) == list(range(20260128, 20260133))
    assert studies.shootout["arms"] == ["control", "layerscale", "agc", "adamw"]


def test_protocol_reaches_every_run(studies):
    for arm in studies.shootout["arms"]:
        run = config(studies, arm)
        assert run.max_hidden_channels == 512 and run.width == 32 and run.modes == 12 and run.depth == 6
        assert run.data.N == 64 and run.data.set_phi and run.data.nphotons == 1e9
        assert run.train.loss_mode == "mae" and run.train.batch_size == 16 and run.train.log_grad_norm
        assert run.study == SHOOTOUT and run.arm_name == arm and run.profile == "quick"


def test_each_arm_takes_effect(studies):
    control, layerscale, agc, adamw = (config(studies, arm) for arm in ("control", "layerscale", "agc", "adamw"))
    assert control.architecture == "hybrid" and control.train.grad_clip == 1.0
    assert control.train.grad_clip_algorithm == "norm" and control.train.optimizer == "adam"
    assert layerscale.architecture == "stable_hybrid" and layerscale.train.grad_clip == 0.0
    assert (layerscale.train.scheduler, layerscale.train.warmup_epochs, layerscale.train.min_lr_ratio,
            layerscale.train.learning_rate) == ("WarmupCosine", 5, 0.05, 5e-4)
    assert agc.train.grad_clip_algorithm == "agc" and agc.train.grad_clip == 0.01
    assert (adamw.train.optimizer, adamw.train.weight_decay, adamw.train.learning_rate, adamw.train.scheduler) == (
        "adamw", 0.01, 3e-4, "WarmupCosine")
    assert len({c.config_hash for c in (control, layerscale, agc, adamw)}) == 4


def test_seed_epochs_and_threads_take_effect(studies):
    base = config(studies, "control")
    other = config(studies, "control", seed=20260129, epochs=2, threads=1)
    assert other.train.seed == 20260129 and other.train.epochs == 2 and other.threads == 1
    assert base.config_hash != other.config_hash


def test_unknown_arm_and_unknown_setting_are_clear_errors(studies, tmp_path):
    with pytest.raises(UsageError, match="unknown arm"):
        config(studies, "lion")
    broken = tmp_path / "studies.toml"
    broken.write_text(studies.source.read_text().replace('torch-grad-clip-algorithm = "agc"',
                                                         'torch-grad-clip-algorithm = "agc"\ntorch-grad-clipp = 3'))
    with pytest.raises(UsageError, match="--torch-grad-clipp"):
        config(load_studies(broken), "agc")
