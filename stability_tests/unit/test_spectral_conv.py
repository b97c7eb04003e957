"""The 2-D spectral convolution (SPEC §4)."""

import math

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.models import SpectralConv2d, live_modes


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
