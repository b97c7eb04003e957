"""Channels-last for the convolutions only: same outputs, spectral weights keep their mode-major layout."""

import torch
from torch import nn

from harness.models import GeneratorPlan, SpectralConv2d, build_generator
from harness.models.memory_format import convolutions_to_channels_last


def test_convolutions_go_channels_last_and_spectral_weights_stay_mode_major():
    torch.manual_seed(0)
    model = build_generator(GeneratorPlan("hybrid", depth=2, width=4, modes=4, n=16))
    x = torch.randn(2, 1, 16, 16)
    before = model(x)
    spectral_strides = [m.weight.stride() for m in model.modules() if isinstance(m, SpectralConv2d)]
    convolutions_to_channels_last(model)
    convolutions = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    assert convolutions and all(m.weight.is_contiguous(memory_format=torch.channels_last) for m in convolutions)
    assert [m.weight.stride() for m in model.modules() if isinstance(m, SpectralConv2d)] == spectral_strides
    torch.testing.assert_close(model(x), before, rtol=1e-5, atol=1e-6)
