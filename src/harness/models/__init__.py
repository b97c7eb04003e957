"""Generators and their layers: one layer per module, composed by `build_generator`."""

from __future__ import annotations

from torch import nn

from .generator import PtychoGenerator
from .layer_scale import LayerScale
from .plan import GeneratorPlan, InfeasibleModel, max_feasible_depth
from .ptycho_block import PtychoBlock
from .spectral_conv import SpectralConv2d, live_modes
from .stable_block import StablePtychoBlock

BLOCKS = {"hybrid": PtychoBlock, "stable_hybrid": StablePtychoBlock}
ARCHITECTURES = tuple(BLOCKS)


class UnknownArchitecture(ValueError):
    pass


def make_plan(architecture: str, *, depth: int, width: int = 32, modes: int = 12,
              max_hidden_channels: int | None = None, n: int = 64, in_channels: int = 1) -> GeneratorPlan:
    """Validate the architecture name and the shape, without allocating anything."""
    if architecture not in BLOCKS:
        raise UnknownArchitecture(f"unknown architecture '{architecture}' (known: {', '.join(ARCHITECTURES)})")
    plan = GeneratorPlan(architecture, depth, width, modes, max_hidden_channels, n, in_channels)
    plan.check()
    return plan


def build_generator(architecture: str, *, depth: int, width: int = 32, modes: int = 12,
                    max_hidden_channels: int | None = None, n: int = 64, in_channels: int = 1,
                    prune_unreachable_modes: bool = True, members: int = 1) -> nn.Module:
    """The generator for `architecture` (B, in_channels, n, n) → complex (B, n, n).

    Raises UnknownArchitecture or InfeasibleModel before any weight is allocated. With
    prune_unreachable_modes (default) spectral modes beyond each level's input size are frozen
    parameters: same count, same outputs, no gradient or optimizer work on them. members=K builds
    K independent generators stacked into one (see members.py): (B, K, n, n) → complex (B, K, n, n).
    """
    plan = make_plan(architecture, depth=depth, width=width, modes=modes,
                     max_hidden_channels=max_hidden_channels, n=n, in_channels=in_channels)
    return PtychoGenerator(plan, BLOCKS[architecture], prune_unreachable_modes, members=members)


__all__ = [
    "ARCHITECTURES", "GeneratorPlan", "InfeasibleModel", "LayerScale", "PtychoBlock", "PtychoGenerator",
    "SpectralConv2d", "StablePtychoBlock", "UnknownArchitecture", "build_generator", "live_modes",
    "make_plan", "max_feasible_depth",
]
