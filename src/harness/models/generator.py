"""The U-shaped generator (SPEC §4): lift → encoder blocks → bottleneck → decoder → complex head."""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn
from torch.nn import functional as F

from .plan import GeneratorPlan


class Lift(nn.Sequential):
    def __init__(self, in_channels: int, width: int):
        super().__init__(nn.Conv2d(in_channels, width, 3, padding=1), nn.GELU(), nn.Conv2d(width, width, 3, padding=1))


class DecoderStage(nn.Module):
    """Upsample to the skip's channels, concatenate the skip, then Conv3×3 → GELU → Conv3×3."""

    def __init__(self, in_channels: int, skip_channels: int):
        super().__init__()
        self.up = nn.ConvTranspose2d(in_channels, skip_channels, kernel_size=2, stride=2)
        self.fuse = nn.Conv2d(2 * skip_channels, skip_channels, 3, padding=1)
        self.refine = nn.Conv2d(skip_channels, skip_channels, 3, padding=1)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = torch.cat([self.up(x), skip], dim=1)
        return self.refine(F.gelu(self.fuse(x)))


class PtychoGenerator(nn.Module):
    """Maps a diffraction amplitude (B, in_channels, n, n) to the complex object patch (B, n, n)."""

    def __init__(self, plan: GeneratorPlan, block: Callable[..., nn.Module], prune_unreachable_modes: bool = True):
        super().__init__()
        plan.check()
        self.plan = plan
        channels = plan.channels
        # Each block knows its input size, so spectral modes it can never reach are not trained.
        sizes = plan.sizes if prune_unreachable_modes else [None] * plan.depth
        self.lift = Lift(plan.in_channels, plan.width)
        self.encoder = nn.ModuleList(block(c, plan.modes, size) for c, size in zip(channels, sizes))
        self.down = nn.ModuleList(
            nn.Conv2d(channels[i], channels[i + 1], kernel_size=2, stride=2) for i in range(plan.depth - 1)
        )
        self.bottleneck = block(channels[-1], plan.modes // 2, sizes[-1])
        self.decoder = nn.ModuleList(
            DecoderStage(channels[i + 1], channels[i]) for i in reversed(range(plan.depth - 1))
        )
        self.head = nn.Conv2d(plan.width, 2, kernel_size=1)

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
        out = self.head(x).float()
        return torch.complex(out[:, 0], out[:, 1])
