"""The generators built of our blocks: the U-shaped one (lift → encoder blocks → bottleneck → decoder
→ complex head) and the constant-resolution one."""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn
from torch.nn import functional as F

from .plan import GeneratorPlan


def member_conv(members: int, in_channels: int, out_channels: int, kernel_size: int, **kwargs) -> nn.Conv2d:
    """K independent convolutions as one grouped convolution (member k: channel block k in and out)."""
    return nn.Conv2d(members * in_channels, members * out_channels, kernel_size, groups=members, **kwargs)


class Lift(nn.Sequential):
    def __init__(self, in_channels: int, width: int, members: int = 1):
        super().__init__(member_conv(members, in_channels, width, 3, padding=1), nn.GELU(),
                         member_conv(members, width, width, 3, padding=1))


class DecoderStage(nn.Module):
    """Upsample to the skip's channels, concatenate the skip, then Conv3×3 → GELU → Conv3×3."""

    def __init__(self, in_channels: int, skip_channels: int, members: int = 1):
        super().__init__()
        self.members = members
        self.up = nn.ConvTranspose2d(members * in_channels, members * skip_channels, kernel_size=2, stride=2,
                                     groups=members)
        self.fuse = member_conv(members, 2 * skip_channels, skip_channels, 3, padding=1)
        self.refine = member_conv(members, skip_channels, skip_channels, 3, padding=1)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        up = self.up(x)
        if self.members == 1:
            x = torch.cat([up, skip], dim=1)
        else:  # each member's upsampled channels next to its own skip channels
            x = torch.cat([up.unflatten(1, (self.members, -1)), skip.unflatten(1, (self.members, -1))], dim=2)
            x = x.flatten(1, 2)
        return self.refine(F.gelu(self.fuse(x)))


class PtychoGenerator(nn.Module):
    """Maps a diffraction amplitude (B, in_channels, n, n) to the complex object patch (B, n, n).

    members=K stacks K independent generators (seed-batched training): the input is (B, K·in_channels,
    n, n), member k reading channel block k; the output is (B, K, n, n); every layer is the stacked
    form of its single self, and member k's weights are the rows k of each parameter's first axis.
    """

    def __init__(self, plan: GeneratorPlan, block: Callable[..., nn.Module], prune_unreachable_modes: bool = True,
                 members: int = 1):
        super().__init__()
        plan.check()
        self.plan = plan
        self.members = members
        channels = plan.channels
        # Each block knows its input size, so spectral modes it can never reach are not trained.
        sizes = plan.sizes if prune_unreachable_modes else [None] * plan.depth
        self.lift = Lift(plan.in_channels, plan.width, members)
        self.encoder = nn.ModuleList(block(c, plan.modes, size, members=members) for c, size in zip(channels, sizes))
        self.down = nn.ModuleList(
            member_conv(members, channels[i], channels[i + 1], kernel_size=2, stride=2) for i in range(plan.depth - 1)
        )
        self.bottleneck = block(channels[-1], plan.modes // 2, sizes[-1], members=members)
        self.decoder = nn.ModuleList(
            DecoderStage(channels[i + 1], channels[i], members) for i in reversed(range(plan.depth - 1))
        )
        self.head = member_conv(members, plan.width, 2, kernel_size=1)

    def forward(self, diffraction: torch.Tensor) -> torch.Tensor:
        x = self.lift(diffraction)
        skips = []
        for level, block in enumerate(self.encoder):
            x = block(x)
            if level < len(self.down):
                skips.append(x)
                x = self.down[level](x)
        x = self.bottleneck(x)
        for stage, skip in zip(self.decoder, reversed(skips)):
            x = stage(x, skip)
        return complex_output(self.head(x), self.members)


def complex_output(head: torch.Tensor, members: int) -> torch.Tensor:
    """The head's real and imaginary channels (2 per member) as the complex patch: (B, n, n), or (B, K, n, n)."""
    out = head.float()
    if members == 1:
        return torch.complex(out[:, 0], out[:, 1])
    out = out.unflatten(1, (members, 2))
    return torch.complex(out[:, :, 0], out[:, :, 1])


class ConstantResolutionGenerator(nn.Module):
    """`fno_vanilla`: lift → depth blocks at full resolution and constant width → complex head; no down- or
    upsampling, so depth is the number of Fourier layers and any depth fits any patch size."""

    def __init__(self, plan: GeneratorPlan, block: Callable[..., nn.Module], prune_unreachable_modes: bool = True,
                 members: int = 1):
        super().__init__()
        plan.check()
        self.plan, self.members = plan, members
        size = plan.n if prune_unreachable_modes else None
        self.lift = Lift(plan.in_channels, plan.width, members)
        self.blocks = nn.ModuleList(block(plan.width, plan.modes, size, members=members) for _ in range(plan.depth))
        self.head = member_conv(members, plan.width, 2, kernel_size=1)

    def forward(self, diffraction: torch.Tensor) -> torch.Tensor:
        x = self.lift(diffraction)
        for block in self.blocks:
            x = block(x)
        return complex_output(self.head(x), self.members)
