"""PtychoBlock, StablePtychoBlock and LayerScale."""

import torch

from harness.models import LayerScale, PtychoBlock, StablePtychoBlock


def test_layer_scale_scales_each_channel():
    layer = LayerScale(3, init_value=0.5)
    with torch.no_grad():
        layer.scale.copy_(torch.tensor([1.0, 2.0, 3.0]))
    x = torch.ones(2, 3, 4, 4)
    y = layer(x)
    assert torch.equal(y[:, 1], torch.full((2, 4, 4), 2.0)) and torch.equal(y[:, 2], torch.full((2, 4, 4), 3.0))
    assert torch.all(LayerScale(5, 1e-3).scale == 1e-3)


def test_ptycho_block_with_zero_parameters_is_identity():
    block = PtychoBlock(8, 4)
    with torch.no_grad():
        for parameter in block.parameters():
            parameter.zero_()
    x = torch.randn(2, 8, 16, 16)
    assert torch.equal(block(x), x)


def test_fresh_stable_block_is_near_identity_and_layer_scale_learns():
    torch.manual_seed(0)
    block = StablePtychoBlock(8, 4)
    x = torch.randn(2, 8, 16, 16)
    y = block(x)
    difference = (y - x).abs().max().item()
    assert 0 < difference < 0.02  # λ = 1e-3 times an instance-normalised branch (|·| of a few units)
    y.square().sum().backward()
    assert block.layer_scale.scale.grad is not None and block.layer_scale.scale.grad.abs().sum() > 0


def test_stable_block_normalises_the_branch():
    torch.manual_seed(2)
    block = StablePtychoBlock(4, 4, layer_scale_init=1.0)
    x = torch.randn(3, 4, 16, 16)
    normalised = (block(x) - x)  # λ = 1, γ = 1, β = 0: the instance-normalised branch itself
    torch.testing.assert_close(normalised.mean(dim=(-2, -1)), torch.zeros(3, 4), atol=1e-5, rtol=0)
    torch.testing.assert_close(normalised.var(dim=(-2, -1), unbiased=False), torch.ones(3, 4), atol=1e-3, rtol=0)
