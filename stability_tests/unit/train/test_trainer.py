"""Real short training runs on the tiny dataset (CPU, seconds)."""

import math
import os

import pytest
import torch

from harness.models import GeneratorPlan, build_generator
from harness.train import TrainConfig, TrainingData, fit, seeded
from stability_tests.tiny import TINY_MODEL


@pytest.fixture(scope="module")
def data(tiny_dataset):
    return TrainingData.from_dataset(tiny_dataset)


def train(data, architecture="hybrid", root_dir=None, **settings):
    config = TrainConfig(**{"epochs": 3, "batch_size": 16, "log_grad_norm": True, **settings})
    with seeded(config.seed):
        model = build_generator(GeneratorPlan(architecture, **TINY_MODEL))
        initial = [p.detach().clone() for p in model.parameters()]
        history = fit(model, data, config, root_dir=root_dir)
    return model, initial, history


def test_loss_decreases_clipping_holds_and_schedule_is_recorded(data, tmp_path):
    config = dict(epochs=5, grad_clip=0.5, grad_clip_algorithm="norm", scheduler="WarmupCosine",
                  warmup_epochs=1, min_lr_ratio=0.05, learning_rate=2e-3, seed=3)
    model, _, history = train(data, root_dir=tmp_path, **config)
    losses = [e["train_loss"] for e in history.epochs]
    assert len(losses) == 5 and losses[-1] < losses[0]
    assert history.epochs[-1]["val_loss"] < history.epochs[0]["val_loss"]
    assert all(s["grad_norm_post"] <= 0.5 * (1 + 1e-5) for s in history.steps)
    assert any(s["grad_norm_pre"] > 0.5 for s in history.steps)  # clipping had something to do
    rates = [e["lr"] for e in history.epochs]
    assert rates[0] == pytest.approx(2e-4) and rates[1] == pytest.approx(2e-3)
    assert rates[1] > rates[2] > rates[3] > rates[4]
    assert history.final_lr == pytest.approx(1e-4)
    assert history.steps_done == 5 * math.ceil(data.train_x.shape[0] / 16)
    assert os.listdir(tmp_path) == []  # Lightning wrote nothing, not even into its root folder


def test_seeds_matter_and_repeat_bit_identically(data):
    model_a, initial_a, _ = train(data, seed=11, epochs=2)
    model_b, initial_b, _ = train(data, seed=12, epochs=2)
    model_c, initial_c, _ = train(data, seed=11, epochs=2)
    assert not all(torch.equal(a, b) for a, b in zip(initial_a, initial_b))
    for a, c in zip(model_a.parameters(), model_c.parameters()):
        assert torch.equal(a, c)


def test_learning_rate_of_1e6_stops_at_the_first_non_finite_step(data):
    model, _, history = train(data, learning_rate=1e6, epochs=5, optimizer="sgd")
    assert history.stop_reason == "nonfinite"
    step = history.nonfinite["step"]
    assert history.steps_done == step  # no update after (or at) the non-finite step
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert len(history.epochs) <= 5


def test_injected_nan_stops_at_that_step(data, monkeypatch):
    from harness.train import step as module_file

    real_loss = module_file.amplitude_loss
    calls = {"n": 0}

    def poisoned(predicted, measured, mode):
        calls["n"] += 1
        loss = real_loss(predicted, measured, mode)
        return loss * math.nan if calls["n"] == 4 else loss

    monkeypatch.setattr(module_file, "amplitude_loss", poisoned)
    model, _, history = train(data, epochs=3)
    assert history.nonfinite == {"step": 3, "epoch": 0, "what": "loss"}
    assert history.steps_done == 3 and history.stop_reason == "nonfinite"


def test_global_torch_state_is_restored(data):
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    train(data, epochs=1)
    assert torch.get_num_threads() == threads
    assert torch.are_deterministic_algorithms_enabled() == deterministic


@pytest.mark.parametrize("settings", [
    dict(optimizer="adamw", weight_decay=0.01, scheduler="Exponential"),
    dict(optimizer="sgd", learning_rate=1e-4, grad_clip=0.01, grad_clip_algorithm="agc"),
    dict(grad_clip=1e-4, grad_clip_algorithm="value", loss_mode="poisson", scheduler="ReduceLROnPlateau"),
])
def test_every_optimizer_clip_and_loss_runs(data, settings):
    model, initial, history = train(data, architecture="stable_hybrid", epochs=2, **settings)
    assert history.stop_reason is None and len(history.epochs) == 2
    assert all(math.isfinite(e["val_loss"]) for e in history.epochs)
    assert not all(torch.equal(a, b) for a, b in zip(initial, model.parameters()))


@pytest.mark.integration
def test_settings_take_effect(data):
    """Each setting changes the trajectory: none is silently dropped."""
    _, _, base = train(data, seed=5, epochs=2)
    baseline = [s["grad_norm_post"] for s in base.steps]
    for settings in (dict(grad_clip=0.05, grad_clip_algorithm="norm"), dict(grad_clip=0.01, grad_clip_algorithm="agc"),
                     dict(learning_rate=3e-4), dict(optimizer="adamw", weight_decay=0.5), dict(batch_size=8),
                     dict(scheduler="WarmupCosine", warmup_epochs=1)):
        _, _, other = train(data, seed=5, epochs=2, **settings)
        assert [s["grad_norm_post"] for s in other.steps] != baseline, settings


def test_bf16_autocast_trains_with_float32_ffts(data):
    model, initial, history = train(data, epochs=1, bf16_autocast=True)
    assert history.stop_reason is None and math.isfinite(history.epochs[0]["val_loss"])
    assert all(p.dtype in (torch.float32, torch.complex64) for p in model.parameters())


def test_no_srun_warning_on_a_machine_with_slurm(data, monkeypatch):
    """Lightning probes for a Slurm cluster unless told the environment; on a login node with `srun` on the
    PATH it then warns on every run. The trainer is given the plain environment explicitly."""
    import shutil
    import warnings

    from lightning.fabric.plugins.environments import slurm

    real_which = shutil.which
    monkeypatch.setattr(slurm.shutil, "which", lambda name, *a, **k: "/usr/bin/srun" if name == "srun"
                        else real_which(name, *a, **k))
    with pytest.warns(UserWarning, match="srun"):  # the probe itself warns here (the fake srun is seen)...
        slurm.SLURMEnvironment._validate_srun_used()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train(data, epochs=1)
    assert not [w for w in caught if "srun" in str(w.message)]  # ...but training never probes
