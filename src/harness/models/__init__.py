"""Generators and their layers: one layer per module, composed by `build_generator`."""

from __future__ import annotations

from torch import nn

from .generator import PtychoGenerator
from .layer_scale import LayerScale
from .plan import GeneratorPlan, InfeasibleModel, max_feasible_depth
from .ptycho_block import PtychoBlock
from .spectral_conv import SpectralConv2d, live_modes
from .stable_block import StablePtychoBlock

# The architectures by name, and the block each composes the U-shaped generator of.
ARCHITECTURES = {"hybrid": PtychoBlock, "stable_hybrid": StablePtychoBlock}


class UnknownArchitecture(ValueError):
    pass


def check_plan(plan: GeneratorPlan) -> GeneratorPlan:
    """Validate the architecture name and the shape, without allocating anything."""
    if plan.architecture not in ARCHITECTURES:
        raise UnknownArchitecture(f"unknown architecture '{plan.architecture}' (known: {', '.join(ARCHITECTURES)})")
    plan.check()
    return plan


def build_generator(plan: GeneratorPlan, *, members: int = 1, prune_unreachable_modes: bool = True) -> nn.Module:
    """The generator of `plan`: (B, in_channels, n, n) → complex (B, n, n).

    Raises UnknownArchitecture or InfeasibleModel before any weight is allocated. With
    prune_unreachable_modes (default) spectral modes beyond each level's input size are frozen
    parameters: same count, same outputs, no gradient or optimizer work on them. members=K builds
    K independent generators stacked into one (see members.py): (B, K, n, n) → complex (B, K, n, n).
    """
    check_plan(plan)
    return PtychoGenerator(plan, ARCHITECTURES[plan.architecture], prune_unreachable_modes, members=members)


__all__ = [
    "ARCHITECTURES", "GeneratorPlan", "InfeasibleModel", "LayerScale", "PtychoBlock", "PtychoGenerator",
    "SpectralConv2d", "StablePtychoBlock", "UnknownArchitecture", "build_generator", "check_plan", "live_modes",
    "max_feasible_depth",
]
