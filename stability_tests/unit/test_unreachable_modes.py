"""Frozen unreachable spectral modes: the same parameters, outputs, losses and verdicts as one full weight."""

import pytest
import torch

from harness.models import SpectralConv2d, build_generator
from harness.train import TrainConfig, TrainingData, fit, seeded

MODEL = dict(depth=3, width=8, modes=12, n=32)  # levels 32, 16, 8 px: the 8 px level reaches 8×5 of 12×12 modes


def _pair(architecture="hybrid", seed=4):
    with seeded(seed):
        pruned = build_generator(architecture, **MODEL)
    with seeded(seed):
        full = build_generator(architecture, prune_unreachable_modes=False, **MODEL)
    return pruned, full


def test_same_count_same_init_same_output():
    pruned, full = _pair()
    assert sum(p.numel() for p in pruned.parameters()) == sum(p.numel() for p in full.parameters())
    trainable = sum(p.numel() for p in pruned.parameters() if p.requires_grad)
    assert trainable < sum(p.numel() for p in full.parameters() if p.requires_grad)
    for a, b in zip(pruned.modules(), full.modules()):
        if isinstance(a, SpectralConv2d):
            assert torch.equal(a.full_weight(), b.weight)
    x = torch.randn(3, 1, 32, 32)
    torch.testing.assert_close(pruned(x), full(x), rtol=1e-5, atol=1e-6)


def test_unreachable_modes_never_receive_gradient_in_the_full_model():
    _, full = _pair()
    full(torch.randn(2, 1, 32, 32)).abs().sum().backward()
    deepest = full.encoder[2].spectral  # 8×8 px: rows ≥ 8 and columns ≥ 5 are unreachable
    assert torch.all(deepest.weight.grad[:, :, 8:] == 0) and torch.all(deepest.weight.grad[:, :, :, 5:] == 0)


def test_a_larger_input_than_built_for_is_refused():
    layer = SpectralConv2d(2, 2, 12, input_size=8)
    with pytest.raises(ValueError, match="built for 8×8"):
        layer(torch.randn(1, 2, 16, 16))


@pytest.mark.parametrize("settings", [
    dict(grad_clip=1.0, grad_clip_algorithm="norm"),
    dict(grad_clip=0.01, grad_clip_algorithm="agc"),
    dict(optimizer="adamw", weight_decay=0.01, grad_clip=0.0),
])
def test_same_losses_and_grad_norms_after_training(tiny_dataset, settings):
    data = TrainingData.from_dataset(tiny_dataset)
    config = TrainConfig(epochs=2, log_grad_norm=True, seed=4, **settings)
    histories = []
    for prune in (True, False):
        with seeded(4):
            model = build_generator("hybrid", prune_unreachable_modes=prune, **MODEL)
            histories.append(fit(model, data, config))
    pruned, full = histories
    for a, b in zip(pruned.epochs, full.epochs):
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-4)
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-4)
    for a, b in zip(pruned.steps, full.steps):
        assert a["grad_norm_pre"] == pytest.approx(b["grad_norm_pre"], rel=1e-3)
        assert a["grad_norm_post"] == pytest.approx(b["grad_norm_post"], rel=1e-3)


def test_channels_last_gives_the_same_losses_and_verdict_inputs(tiny_dataset):
    data = TrainingData.from_dataset(tiny_dataset)
    histories = []
    for channels_last in (True, False):
        with seeded(6):
            model = build_generator("hybrid", **MODEL)
            histories.append(fit(model, data, TrainConfig(epochs=2, seed=6, log_grad_norm=True, grad_clip=1.0,
                                                          channels_last=channels_last)))
    fast, plain = histories
    for a, b in zip(fast.epochs, plain.epochs):
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-4)
        assert a["amp_cv"] == pytest.approx(b["amp_cv"], rel=1e-3)
    assert fast.steps_done == plain.steps_done and fast.stop_reason == plain.stop_reason
