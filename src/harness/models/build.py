"""A generator from its plan: the plan checked (architecture, shape, a user's contract), then built."""

from __future__ import annotations

from torch import nn

from .plan import GeneratorPlan
from .registry import architecture, check_contract


def check_plan(plan: GeneratorPlan, members: int = 1) -> GeneratorPlan:
    """Validate the architecture and the shape (UnknownArchitecture, InfeasibleModel); a user's generator is
    built on the CPU (with its K members, for members=K) and run forward and backward, so a wrong or non-finite
    output is found before any training."""
    found = architecture(plan.architecture)
    plan.check()
    if found.halves:
        plan.check_halvings(found.normalised)
    if found.check is not None:
        found.check(plan)
    if found.user:
        check_contract(plan, members)
    return plan


def build_generator(plan: GeneratorPlan, *, members: int = 1, prune_unreachable_modes: bool = True) -> nn.Module:
    """The generator of `plan`: (B, in_channels, n, n) → complex (B, n, n).

    Raises UnknownArchitecture or InfeasibleModel before any weight is allocated. With
    prune_unreachable_modes (default) spectral modes beyond each level's input size are frozen
    parameters: same count, same outputs, no gradient or optimizer work on them. members=K builds
    K independent generators stacked into one (see members.py): (B, K, n, n) → complex (B, K, n, n);
    only stackable architectures can.
    """
    check_plan(plan, members)
    return architecture(plan.architecture).make(plan, members, prune_unreachable_modes)
