"""Gradient clipping applied after backward and before the step: `norm`, `value`, `agc` (SPEC §5)."""

from __future__ import annotations

from typing import Iterable

import torch
from torch import nn

CLIP_ALGORITHMS = ("norm", "value", "agc", "agc-per-tensor")

# The axis that indexes output units, for weights whose output axis is not 0.
UNIT_AXIS_ATTRIBUTE = "agc_unit_axis"
# Frozen remainder of a weight (unreachable spectral modes) whose norm still belongs to each unit.
EXTRA_WEIGHT_ATTRIBUTE = "agc_extra_weight"


def mark_unit_axes(model: nn.Module) -> None:
    """Tag weights whose output units lie on axis 1: transposed convs and [c_in, c_out, …] spectral weights."""
    from ..models import SpectralConv2d

    for module in model.modules():
        if isinstance(module, (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d, SpectralConv2d)):
            setattr(module.weight, UNIT_AXIS_ATTRIBUTE, 1)
        if isinstance(module, SpectralConv2d) and module.weight_unreachable is not None:
            setattr(module.weight, EXTRA_WEIGHT_ATTRIBUTE, module.weight_unreachable)


def as_real(tensor: torch.Tensor) -> torch.Tensor:
    """A complex tensor as a real view with a trailing (real, imaginary) axis; real tensors as they are.

    Norms of that view equal the complex moduli's norms, and torch's complex norm kernels are
    tens of times slower than the real ones (73 of 550 ms of a depth-4 step went there).
    """
    return torch.view_as_real(tensor) if tensor.is_complex() else tensor


def _unit_norm(tensor: torch.Tensor, unit_axis: int | None) -> torch.Tensor:
    """L2 norm (modulus for complex) per output unit, broadcastable to the tensor; whole-tensor if unit_axis is None."""
    if unit_axis is None or tensor.ndim <= 1:
        return torch.linalg.vector_norm(as_real(tensor))
    dims = tuple(d for d in range(tensor.ndim) if d != unit_axis)
    if tensor.is_complex():
        norm = torch.linalg.vector_norm(torch.view_as_real(tensor), dim=(*dims, tensor.ndim), keepdim=True)
        return norm.squeeze(-1)
    return torch.linalg.vector_norm(tensor, dim=dims, keepdim=True)


def _frozen_unit_norm(frozen: torch.Tensor, unit_axis: int | None) -> torch.Tensor:
    """Unit norms of a frozen weight, computed once per version of it (it never changes in training)."""
    key = (frozen._version, unit_axis)
    cached = getattr(frozen, "_agc_norm_cache", None)
    if cached is None or cached[0] != key:
        cached = (key, _unit_norm(frozen.detach(), unit_axis if unit_axis is None else 1))
        frozen._agc_norm_cache = cached
    return cached[1]


@torch.no_grad()
def adaptive_clip_grad_(parameters: Iterable[torch.Tensor] | nn.Module, clip_factor: float = 0.01,
                        eps: float = 1e-3, unitwise: bool = True) -> None:
    """Adaptive gradient clipping: per unit, if ‖g‖ > λ·max(‖w‖, eps), scale g down to that bound.

    Units are output rows/filters (axis 0, or the axis tagged by `mark_unit_axes`; a module passed
    directly is tagged here); vectors and scalars, and everything when unitwise=False, use whole-tensor
    norms. Units under the bound are left bit-identical, and a unit whose gradient norm is not finite
    is left as it is, so clipping never turns a non-finite gradient finite.
    """
    if isinstance(parameters, nn.Module):
        mark_unit_axes(parameters)
        parameters = parameters.parameters()
    for parameter in parameters:
        grad = parameter.grad
        if grad is None:
            continue
        unit_axis = getattr(parameter, UNIT_AXIS_ATTRIBUTE, 0) if unitwise else None
        weight_norm = _unit_norm(parameter.detach(), unit_axis)
        extra = getattr(parameter, EXTRA_WEIGHT_ATTRIBUTE, None)
        if extra is not None:  # the unit's weight includes its frozen, unreachable modes
            extra_norm = _frozen_unit_norm(extra, unit_axis)
            weight_norm = torch.sqrt(weight_norm.square() + extra_norm.reshape(weight_norm.shape).square())
        grad_norm = _unit_norm(grad, unit_axis)
        max_norm = clip_factor * weight_norm.clamp_min(eps)
        trigger = torch.isfinite(grad_norm) & (grad_norm > max_norm)
        scale = torch.where(trigger, max_norm / grad_norm.clamp_min(1e-6), torch.ones_like(grad_norm))
        grad.copy_(torch.where(trigger, grad * scale, grad))


@torch.no_grad()
def clip_value_(parameters: Iterable[torch.Tensor], clip_value: float) -> None:
    """Element-wise clamp to [−c, c]; real and imaginary parts separately for complex gradients."""
    for parameter in parameters:
        if parameter.grad is not None:
            as_real(parameter.grad).clamp_(-clip_value, clip_value)


def global_grad_norm(parameters: list[torch.Tensor]) -> torch.Tensor:
    """Global L2 norm of all gradients (a 0-d tensor; no host sync)."""
    grads = [as_real(p.grad) for p in parameters if p.grad is not None]
    if not grads:
        return torch.zeros(())
    return torch.nn.utils.get_total_norm(grads, norm_type=2.0, foreach=True)


def clip_gradients_(parameters: list[torch.Tensor], algorithm: str, clip_value: float,
                    pre_norm: torch.Tensor) -> None:
    """Apply the configured clipping; a clip value ≤ 0 means none."""
    if clip_value <= 0:
        return
    if algorithm == "norm":
        torch.nn.utils.clip_grads_with_norm_(parameters, clip_value, pre_norm, foreach=True)
    elif algorithm == "value":
        clip_value_(parameters, clip_value)
    elif algorithm == "agc":
        adaptive_clip_grad_(parameters, clip_factor=clip_value, unitwise=True)
    elif algorithm == "agc-per-tensor":
        adaptive_clip_grad_(parameters, clip_factor=clip_value, unitwise=False)
    else:
        raise ValueError(f"unknown clipping algorithm '{algorithm}' (known: {', '.join(CLIP_ALGORITHMS)})")
