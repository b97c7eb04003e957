"""The 2-D spectral convolution, and its frozen unreachable modes: the same parameters, outputs,
losses and verdicts as one full weight."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.models import GeneratorPlan, SpectralConv2d, build_generator, live_modes
from harness.models.spectral_conv import definition_forward
from harness.train import TrainConfig, TrainingData, fit, seeded


def test_init_std_of_real_part_is_one_over_sqrt_two_c_in():
    torch.manual_seed(0)
    for c_in in (16, 64):
        layer = SpectralConv2d(c_in, 32, 12)
        expected = 1 / math.sqrt(2 * c_in)
        assert abs(layer.weight.real.std().item() / expected - 1) < 0.2
        assert abs(layer.weight.imag.std().item() / expected - 1) < 0.2


def test_matches_explicit_mode_mixing():
    torch.manual_seed(1)
    layer = SpectralConv2d(3, 2, 4)
    x = torch.randn(2, 3, 16, 16)
    spectrum = torch.fft.rfft2(x)
    expected_spectrum = torch.zeros(2, 2, 16, 9, dtype=torch.complex64)
    for out in range(2):
        for c in range(3):
            expected_spectrum[:, out, :4, :4] += spectrum[:, c, :4, :4] * layer.weight[c, out]
    expected = torch.fft.irfft2(expected_spectrum, s=(16, 16))
    torch.testing.assert_close(layer(x), expected, rtol=1e-4, atol=1e-5)


@settings(max_examples=30, deadline=None)
@given(size=st.sampled_from([2, 4, 6, 8, 16, 32]), modes=st.integers(1, 14), batch=st.integers(1, 3))
def test_any_size_keeps_shape_and_uses_only_reachable_modes(size, modes, batch):
    layer = SpectralConv2d(2, 3, modes)
    x = torch.randn(batch, 2, size, size)
    y = layer(x)
    assert y.shape == (batch, 3, size, size) and y.dtype == torch.float32
    y.sum().backward()
    modes_h, modes_w = live_modes(modes, size, size)
    grad = layer.weight.grad
    assert torch.all(grad[:, :, modes_h:, :] == 0) and torch.all(grad[:, :, :, modes_w:] == 0)


def test_constant_channel_in_gives_dc_times_weight():
    layer = SpectralConv2d(1, 1, 3)
    with torch.no_grad():
        layer.weight.zero_()
        layer.weight[0, 0, 0, 0] = 2.0
    x = torch.full((1, 1, 8, 8), 0.5)
    torch.testing.assert_close(layer(x), torch.full((1, 1, 8, 8), 1.0))


@settings(max_examples=20, deadline=None)
@given(size=st.sampled_from([2, 4, 6, 8, 16]), modes=st.integers(1, 12), c_in=st.integers(1, 3),
       c_out=st.integers(1, 3), built_for_size=st.booleans())
def test_values_and_gradients_match_the_definition(size, modes, c_in, c_out, built_for_size):
    layer = SpectralConv2d(c_in, c_out, modes, input_size=size if built_for_size else None)
    x = torch.randn(2, c_in, size, size).to(memory_format=torch.channels_last).requires_grad_()
    upstream = torch.randn(2, c_out, size, size)
    ours = layer(x)
    torch.testing.assert_close(ours, definition_forward(layer, x), rtol=1e-4, atol=1e-5)
    grads = torch.autograd.grad((ours * upstream).sum(), (x, layer.weight))
    reference_grads = torch.autograd.grad((definition_forward(layer, x) * upstream).sum(), (x, layer.weight))
    for a, b in zip(grads, reference_grads):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_weight_is_stored_mode_major_and_its_gradient_and_adam_state_follow():
    layer = SpectralConv2d(4, 5, 6, input_size=8)
    assert layer.weight.shape == (4, 5, 6, 5)
    assert layer.weight.permute(2, 3, 0, 1).is_contiguous()  # per-mode matrices without a copy
    optimizer = torch.optim.Adam(layer.parameters(), lr=1e-3)
    layer(torch.randn(3, 4, 8, 8)).sum().backward()
    optimizer.step()
    assert layer.weight.grad.stride() == layer.weight.stride()
    assert optimizer.state[layer.weight]["exp_avg"].stride() == layer.weight.stride()


def test_training_gives_the_losses_and_verdict_inputs_of_the_definition(tiny_dataset, monkeypatch):
    """The fast spectral layer (truncated FFTs, mode-major weights, own backward) against the definition verbatim."""
    from harness.models import build_generator
    from harness.train import TrainConfig, TrainingData, fit, seeded

    data = TrainingData.from_dataset(tiny_dataset)
    config = TrainConfig(epochs=2, seed=3, log_grad_norm=True, grad_clip=1.0)
    histories = []
    for use_definition in (False, True):
        if use_definition:
            monkeypatch.setattr(SpectralConv2d, "forward", definition_forward)
        with seeded(3):
            histories.append(fit(build_generator(GeneratorPlan("hybrid", depth=3, width=8, modes=12, n=32)), data, config))
    fast, definition = histories
    for a, b in zip(fast.epochs, definition.epochs, strict=True):
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-4)
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-4)
        assert a["amp_cv"] == pytest.approx(b["amp_cv"], rel=1e-3)
    for a, b in zip(fast.steps, definition.steps, strict=True):
        assert a["grad_norm_pre"] == pytest.approx(b["grad_norm_pre"], rel=1e-3)
    assert fast.stop_reason == definition.stop_reason and fast.steps_done == definition.steps_done


# --- frozen unreachable modes --------------------------------------------------------------------

MODEL = dict(depth=3, width=8, modes=12, n=32)  # levels 32, 16, 8 px: the 8 px level reaches 8×5 of 12×12 modes


def _pair(architecture="hybrid", seed=4):
    with seeded(seed):
        pruned = build_generator(GeneratorPlan(architecture, **MODEL))
    with seeded(seed):
        full = build_generator(GeneratorPlan(architecture, **MODEL), prune_unreachable_modes=False)
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
            model = build_generator(GeneratorPlan("hybrid", **MODEL), prune_unreachable_modes=prune)
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
            model = build_generator(GeneratorPlan("hybrid", **MODEL))
            histories.append(fit(model, data, TrainConfig(epochs=2, seed=6, log_grad_norm=True, grad_clip=1.0,
                                                          channels_last=channels_last)))
    fast, plain = histories
    for a, b in zip(fast.epochs, plain.epochs):
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-4)
        assert a["amp_cv"] == pytest.approx(b["amp_cv"], rel=1e-3)
    assert fast.steps_done == plain.steps_done and fast.stop_reason == plain.stop_reason
