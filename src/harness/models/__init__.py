"""Generators and their layers: one layer per module, composed by `build_generator`."""

from __future__ import annotations

from torch import nn

from .generator import PtychoGenerator
from .layer_scale import LayerScale
from .plan import GeneratorPlan, InfeasibleModel, max_feasible_depth
from .ptycho_block import PtychoBlock
from .registry import ARCHITECTURES, Architecture, UnknownArchitecture, architecture, check_contract
from .spectral_conv import SpectralConv2d, live_modes
from .stable_block import StablePtychoBlock


def check_plan(plan: GeneratorPlan) -> GeneratorPlan:
    """Validate the architecture and the shape (UnknownArchitecture, InfeasibleModel); a user's generator is
    built on the meta device and run once, so a wrong output is found before any training."""
    found = architecture(plan.architecture)
    plan.check()
    if found.halves:
        plan.check_halvings(found.normalised)
    if found.check is not None:
        found.check(plan)
    if found.user:
        check_contract(plan)
    return plan


def build_generator(plan: GeneratorPlan, *, members: int = 1, prune_unreachable_modes: bool = True) -> nn.Module:
    """The generator of `plan`: (B, in_channels, n, n) → complex (B, n, n).

    Raises UnknownArchitecture or InfeasibleModel before any weight is allocated. With
    prune_unreachable_modes (default) spectral modes beyond each level's input size are frozen
    parameters: same count, same outputs, no gradient or optimizer work on them. members=K builds
    K independent generators stacked into one (see members.py): (B, K, n, n) → complex (B, K, n, n);
    only stackable architectures can.
    """
    check_plan(plan)
    return architecture(plan.architecture).make(plan, members, prune_unreachable_modes)


__all__ = [
    "ARCHITECTURES", "Architecture", "GeneratorPlan", "architecture", "InfeasibleModel", "LayerScale", "PtychoBlock",
    "PtychoGenerator",
    "SpectralConv2d", "StablePtychoBlock", "UnknownArchitecture", "build_generator", "check_plan", "live_modes",
    "max_feasible_depth",
]
