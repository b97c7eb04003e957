"""Adaptive gradient clipping: the bound, untouched units, direction, non-finite gradients."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.models import SpectralConv2d
from harness.train.clipping import adaptive_clip_grad_, global_grad_norm, mark_unit_axes

RTOL = 1e-6


def _parameter(weight, grad):
    parameter = torch.nn.Parameter(weight.clone())
    parameter.grad = grad.clone()
    return parameter


def _unit_norms(tensor, axis):
    if tensor.ndim <= 1:
        return torch.linalg.vector_norm(tensor).reshape(1)
    dims = tuple(d for d in range(tensor.ndim) if d != axis)
    return torch.linalg.vector_norm(tensor, dim=dims).flatten()


def test_the_worked_example():
    parameter = _parameter(torch.full((4,), 0.1), torch.full((4,), 100.0))
    adaptive_clip_grad_([parameter], clip_factor=0.01)
    assert torch.linalg.vector_norm(parameter.grad) <= 0.002 * (1 + RTOL)


shapes = st.sampled_from([(3,), (5, 4), (6, 3, 3, 3), (4, 2, 2, 2), (1,)])


@settings(max_examples=80, deadline=None)
@given(shape=shapes, weight_scale=st.floats(1e-4, 10), grad_scale=st.floats(1e-6, 1e3),
       clip_factor=st.floats(1e-3, 1.0), seed=st.integers(0, 10_000), zero_rows=st.booleans())
def test_bound_untouched_units_and_direction(shape, weight_scale, grad_scale, clip_factor, seed, zero_rows):
    generator = torch.Generator().manual_seed(seed)
    weight = torch.randn(shape, generator=generator, dtype=torch.float64) * weight_scale
    if zero_rows and len(shape) > 1:
        weight[0] = 0
    grad = torch.randn(shape, generator=generator, dtype=torch.float64) * grad_scale
    parameter = _parameter(weight, grad)
    adaptive_clip_grad_([parameter], clip_factor=clip_factor)
    w_norms, g_before, g_after = _unit_norms(weight, 0), _unit_norms(grad, 0), _unit_norms(parameter.grad, 0)
    bound = clip_factor * w_norms.clamp_min(1e-3)
    assert torch.all(g_after <= bound * (1 + RTOL))
    rows_before = grad.reshape(len(g_before), -1) if grad.ndim > 1 else grad.reshape(1, -1)
    rows_after = parameter.grad.reshape(len(g_before), -1) if grad.ndim > 1 else parameter.grad.reshape(1, -1)
    for i in range(len(g_before)):
        if g_before[i] <= bound[i]:
            assert torch.equal(rows_after[i], rows_before[i])  # bit-identical
        else:
            cosine = torch.dot(rows_after[i], rows_before[i]) / (g_after[i] * g_before[i])
            assert cosine == pytest.approx(1.0, abs=1e-9)
            assert g_after[i] == pytest.approx(float(bound[i]), rel=1e-6)


def test_zero_weights_bound_the_gradient_by_lambda_eps():
    parameter = _parameter(torch.zeros(3, 5), torch.ones(3, 5))
    adaptive_clip_grad_([parameter], clip_factor=0.1, eps=1e-3)
    assert torch.all(_unit_norms(parameter.grad, 0) <= 0.1 * 1e-3 * (1 + RTOL))


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_gradient_stays_non_finite(bad):
    grad = torch.ones(4, 3) * 10
    grad[1, 2] = bad
    parameter = _parameter(torch.full((4, 3), 0.1), grad)
    adaptive_clip_grad_([parameter], clip_factor=0.01)
    assert not torch.isfinite(parameter.grad[1]).all()
    assert not torch.isfinite(parameter.grad).all()
    # the finite units are still clipped
    assert torch.linalg.vector_norm(parameter.grad[0]) <= 0.01 * torch.linalg.vector_norm(torch.full((3,), 0.1)) * (1 + RTOL)


def test_transposed_conv_uses_axis_one():
    torch.manual_seed(0)
    layer = torch.nn.ConvTranspose2d(3, 5, kernel_size=2, stride=2)
    layer.weight.grad = torch.randn_like(layer.weight) * 100
    layer.bias.grad = torch.randn_like(layer.bias)
    adaptive_clip_grad_(layer, clip_factor=0.01)  # a module: unit axes are tagged automatically
    bound = 0.01 * _unit_norms(layer.weight.detach(), 1).clamp_min(1e-3)
    g_after = _unit_norms(layer.weight.grad, 1)
    assert g_after.shape == (5,)  # one unit per output channel, on axis 1
    assert torch.all(g_after <= bound * (1 + RTOL))
    assert torch.allclose(g_after, bound, rtol=1e-5)


@settings(max_examples=20, deadline=None)
@given(c_in=st.integers(1, 4), c_out=st.integers(1, 4), modes=st.integers(1, 4), scale=st.floats(1e-2, 1e3))
def test_complex_spectral_weights_use_moduli_and_axis_one(c_in, c_out, modes, scale):
    layer = SpectralConv2d(c_in, c_out, modes)
    layer.weight.grad = torch.randn_like(layer.weight) * scale
    mark_unit_axes(layer)
    before = layer.weight.grad.clone()
    adaptive_clip_grad_(layer.parameters(), clip_factor=0.05)
    bound = 0.05 * _unit_norms(layer.weight.detach(), 1).clamp_min(1e-3)
    assert torch.all(_unit_norms(layer.weight.grad, 1) <= bound * (1 + RTOL))
    # complex direction (phase) preserved: grad_after = positive real × grad_before per unit
    ratio = layer.weight.grad / before
    assert torch.allclose(ratio.imag, torch.zeros_like(ratio.imag), atol=1e-5)
    assert torch.all(ratio.real > 0)


def test_unitwise_false_uses_whole_tensor_norms():
    weight = torch.tensor([[1.0, 0.0], [0.0, 0.01]])
    grad = torch.tensor([[0.0, 0.0], [0.0, 1.0]])
    per_unit = _parameter(weight, grad)
    per_tensor = _parameter(weight, grad)
    adaptive_clip_grad_([per_unit], clip_factor=0.1)
    adaptive_clip_grad_([per_tensor], clip_factor=0.1, unitwise=False)
    assert per_unit.grad[1, 1] == pytest.approx(0.1 * 0.01, rel=1e-6)
    assert per_tensor.grad[1, 1] == pytest.approx(0.1 * math.hypot(1.0, 0.01), rel=1e-6)


def test_global_norm_counts_complex_gradients_by_modulus():
    real = torch.nn.Parameter(torch.zeros(3))
    spectral = torch.nn.Parameter(torch.zeros(2, 2, dtype=torch.complex64))
    real.grad = torch.tensor([1.0, 2.0, 2.0])
    spectral.grad = torch.tensor([[3 + 4j, 0], [0, 1j]], dtype=torch.complex64)
    assert global_grad_norm([real, spectral]).item() == pytest.approx(math.sqrt(9 + 25 + 1))
