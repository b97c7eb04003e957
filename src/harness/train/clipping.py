"""Gradient clipping applied after backward and before the step: `norm`, `value`, `agc`."""

from __future__ import annotations

from typing import Iterable

import torch
from torch import nn

from ..models.members import member_view, parameter_members
from ..models.spectral_conv import SpectralConv2d

# The axis that indexes output units, for weights whose output axis is not 0.
UNIT_AXIS_ATTRIBUTE = "agc_unit_axis"
# Frozen remainder of a weight (unreachable spectral modes) whose norm still belongs to each unit.
EXTRA_WEIGHT_ATTRIBUTE = "agc_extra_weight"


def mark_unit_axes(model: nn.Module) -> None:
    """Tag weights whose output units lie on axis 1: transposed convs and [c_in, c_out, …] spectral weights."""
    for module in model.modules():
        if isinstance(module, (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d, SpectralConv2d)):
            setattr(module.weight, UNIT_AXIS_ATTRIBUTE, 1)
        if isinstance(module, SpectralConv2d) and module.weight_unreachable is not None:
            setattr(module.weight, EXTRA_WEIGHT_ATTRIBUTE, module.weight_unreachable)


def as_real(tensor: torch.Tensor) -> torch.Tensor:
    """A complex tensor as a real view with a trailing (real, imaginary) axis; real tensors as they are.

    Norms of that view equal the complex moduli's norms, and torch's complex norm kernels are
    tens of times slower than the real ones.
    """
    return torch.view_as_real(tensor) if tensor.is_complex() else tensor


def _unit_norm(tensor: torch.Tensor, unit_axis: int | None, members: int = 1) -> torch.Tensor:
    """L2 norm (modulus for complex) per output unit, broadcastable to the tensor; whole-tensor if unit_axis is None.

    members=K: the tensor holds K members' tensors as blocks of axis 0 (see models/members.py); the
    norms are per member (and per unit of each member), broadcastable to the (K, …) member view.
    """
    if members > 1:
        view = member_view(tensor, members)
        keep = {0} if unit_axis is None or view.ndim <= 2 else {0, unit_axis + 1}
        dims = tuple(d for d in range(view.ndim) if d not in keep)
        if view.is_complex():
            return torch.linalg.vector_norm(torch.view_as_real(view), dim=(*dims, view.ndim), keepdim=True).squeeze(-1)
        return torch.linalg.vector_norm(view, dim=dims, keepdim=True)
    if unit_axis is None or tensor.ndim <= 1:
        return torch.linalg.vector_norm(as_real(tensor))
    dims = tuple(d for d in range(tensor.ndim) if d != unit_axis)
    if tensor.is_complex():
        norm = torch.linalg.vector_norm(torch.view_as_real(tensor), dim=(*dims, tensor.ndim), keepdim=True)
        return norm.squeeze(-1)
    return torch.linalg.vector_norm(tensor, dim=dims, keepdim=True)


def _frozen_unit_norm(frozen: torch.Tensor, unit_axis: int | None, members: int = 1) -> torch.Tensor:
    """Unit norms of a frozen weight, computed once per version of it (it never changes in training)."""
    key = (frozen._version, unit_axis, members)
    cached = getattr(frozen, "_agc_norm_cache", None)
    if cached is None or cached[0] != key:
        cached = (key, _unit_norm(frozen.detach(), unit_axis if unit_axis is None else 1, members))
        frozen._agc_norm_cache = cached  # type: ignore[attr-defined]  # kept on the tensor it belongs to
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
        members = parameter_members(parameter)
        unit_axis = getattr(parameter, UNIT_AXIS_ATTRIBUTE, 0) if unitwise else None
        weight_norm = _unit_norm(parameter.detach(), unit_axis, members)
        extra = getattr(parameter, EXTRA_WEIGHT_ATTRIBUTE, None)
        if extra is not None:  # the unit's weight includes its frozen, unreachable modes
            extra_norm = _frozen_unit_norm(extra, unit_axis, members)
            weight_norm = torch.sqrt(weight_norm.square() + extra_norm.reshape(weight_norm.shape).square())
        grad_norm = _unit_norm(grad, unit_axis, members)
        max_norm = clip_factor * weight_norm.clamp_min(eps)
        trigger = torch.isfinite(grad_norm) & (grad_norm > max_norm)
        scale = torch.where(trigger, max_norm / grad_norm.clamp_min(1e-6), torch.ones_like(grad_norm))
        view = grad if members == 1 else member_view(grad, members)
        view.copy_(torch.where(trigger, view * scale, view))


@torch.no_grad()
def clip_value_(parameters: Iterable[torch.Tensor], clip_value: float) -> None:
    """Element-wise clamp to [−c, c]; real and imaginary parts separately for complex gradients."""
    for parameter in parameters:
        if parameter.grad is not None:
            as_real(parameter.grad).clamp_(-clip_value, clip_value)


def global_grad_norm(parameters: list[torch.Tensor]) -> torch.Tensor:
    """Global L2 norm of all gradients (a 0-d tensor; no host sync); of a stacked model's parameters,
    one norm per member (a (K,) tensor)."""
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return torch.zeros(())
    members = parameter_members(parameters[0])
    if members > 1:
        per_member = torch.stack([_unit_norm(grad, None, members).reshape(members) for grad in grads])
        return torch.linalg.vector_norm(per_member, dim=0)
    return torch.nn.utils.get_total_norm([as_real(grad) for grad in grads], norm_type=2.0, foreach=True)


@torch.no_grad()
def clip_by_member_norm_(parameters: list[torch.Tensor], max_norm: float, norms: torch.Tensor) -> None:
    """Each member's gradients scaled as torch's clip_grads_with_norm_ scales a single model's:
    by min(1, max_norm / (norm + 1e-6)), with that member's own global norm."""
    members = norms.numel()
    coefficients = (max_norm / (norms + 1e-6)).clamp(max=1.0)
    for parameter in parameters:
        if parameter.grad is not None:
            view = member_view(parameter.grad, members)
            view.mul_(coefficients.reshape(members, *([1] * (view.ndim - 1))).to(view.real.dtype))


def clip_by_norm_(parameters: list[torch.Tensor], max_norm: float, pre_norm: torch.Tensor) -> None:
    """Global-norm clipping with the norm already computed: per member for a stacked model ((K,) norms)."""
    if pre_norm.ndim == 1:
        clip_by_member_norm_(parameters, max_norm, pre_norm)
    else:
        torch.nn.utils.clip_grads_with_norm_(parameters, max_norm, pre_norm, foreach=True)


# The clipping algorithms by name: (parameters, clip value, pre-clip global norm) → None, in place.
CLIP_ALGORITHMS = {
    "norm": clip_by_norm_,
    "value": lambda parameters, value, _: clip_value_(parameters, value),
    "agc": lambda parameters, value, _: adaptive_clip_grad_(parameters, clip_factor=value, unitwise=True),
    "agc-per-tensor": lambda parameters, value, _: adaptive_clip_grad_(parameters, clip_factor=value, unitwise=False),
}


def clip_gradients_(parameters: list[torch.Tensor], algorithm: str, clip_value: float,
                    pre_norm: torch.Tensor) -> None:
    """Apply the configured clipping; a clip value ≤ 0 means none. Stacked models are clipped per member
    (pre_norm is then the (K,) per-member norm of global_grad_norm)."""
    if clip_value <= 0:
        return
    if algorithm not in CLIP_ALGORITHMS:
        raise ValueError(f"unknown clipping algorithm '{algorithm}' (known: {', '.join(CLIP_ALGORITHMS)})")
    CLIP_ALGORITHMS[algorithm](parameters, clip_value, pre_norm)
