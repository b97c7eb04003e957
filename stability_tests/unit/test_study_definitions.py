"""fixtures/studies.toml: the protocol and every arm reach the run configuration."""

import pytest
import torch

from harness.errors import UsageError
from harness.study import CRASH_HUNT, SHOOTOUT, load_studies, run_config_for
from harness.train.clipping import clip_gradients_, global_grad_norm


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
    assert agc.train.grad_clip_algorithm == "agc-per-tensor" and agc.train.grad_clip == 0.1
    assert (adamw.train.optimizer, adamw.train.weight_decay, adamw.train.learning_rate, adamw.train.scheduler) == (
        "adamw", 0.01, 3e-4, "WarmupCosine")
    assert len({c.config_hash for c in (control, layerscale, agc, adamw)}) == 4
    unitwise, retired = config(studies, "agc-unitwise"), config(studies, "agc-0.01")
    assert (unitwise.train.grad_clip_algorithm, unitwise.train.grad_clip) == ("agc", 0.1)
    assert (retired.train.grad_clip_algorithm, retired.train.grad_clip) == ("agc", 0.01)
    assert "agc-unitwise" not in studies.shootout["arms"] and "agc-0.01" not in studies.shootout["arms"]


def _clipped(arm_config, weight: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """The gradient after the arm's own clipping setting, through the trainer's clipping call."""
    parameter = torch.nn.Parameter(weight.clone())
    parameter.grad = grad.clone()
    clip_gradients_([parameter], arm_config.train.grad_clip_algorithm, arm_config.train.grad_clip,
                    global_grad_norm([parameter]))
    return parameter.grad


def test_the_agc_arms_clip_as_defined(studies):
    """Soft AGC: whole-tensor norms at λ = 0.1; agc-unitwise: per output unit at λ = 0.1."""
    soft, unitwise = config(studies, "agc"), config(studies, "agc-unitwise")
    weight = torch.tensor([[3.0, 4.0], [0.0, 0.5]])            # ‖w‖ = 5.5227; rows 5.0 and 0.5
    bound = 0.1 * torch.linalg.vector_norm(weight)
    above = torch.tensor([[1.0, 0.0], [0.0, 1.0]])              # ‖g‖ = 1.414 > 0.552: ends exactly on the bound
    clipped = _clipped(soft, weight, above)
    assert torch.linalg.vector_norm(clipped) == pytest.approx(float(bound), rel=1e-6)
    torch.testing.assert_close(clipped / torch.linalg.vector_norm(clipped), above / torch.linalg.vector_norm(above))
    below = above * 0.3                                          # ‖g‖ = 0.424 < 0.552: untouched, bit for bit
    assert torch.equal(_clipped(soft, weight, below), below)
    # per unit: row 0 (‖g‖ 0.3 ≤ 0.1·5.0) untouched, row 1 (‖g‖ 0.3 > 0.1·0.5) brought to 0.05 — where the
    # per-tensor arm leaves the same gradient whole
    per_unit = _clipped(unitwise, weight, below)
    assert torch.equal(per_unit[0], below[0])
    assert torch.linalg.vector_norm(per_unit[1]) == pytest.approx(0.05, rel=1e-6)


def test_seed_epochs_and_threads_take_effect(studies):
    base = config(studies, "control")
    other = config(studies, "control", seed=20260129, epochs=2, threads=1)
    assert other.train.seed == 20260129 and other.train.epochs == 2 and other.threads == 1
    assert base.config_hash != other.config_hash


def test_unknown_arm_and_unknown_setting_are_clear_errors(studies, tmp_path):
    with pytest.raises(UsageError, match="unknown arm"):
        config(studies, "lion")
    broken = tmp_path / "studies.toml"
    broken.write_text(studies.source.read_text().replace('torch-grad-clip-algorithm = "agc-per-tensor"',
                                                         'torch-grad-clip-algorithm = "agc-per-tensor"\ntorch-grad-clipp = 3'))
    with pytest.raises(UsageError, match="--torch-grad-clipp"):
        config(load_studies(broken), "agc")
