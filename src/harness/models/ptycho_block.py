"""PtychoBlock (the `hybrid` block): y = x + GELU(Spectral_m(x) + Conv3×3(x)), no normalisation."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .spectral_conv import SpectralConv2d


class PtychoBlock(nn.Module):
    """members=K: K independent blocks on K channel blocks (a grouped convolution, a stacked spectral layer)."""

    def __init__(self, channels: int, modes: int, input_size: int | None = None, members: int = 1):
        super().__init__()
        self.spectral = SpectralConv2d(channels, channels, modes, input_size, members=members)
        self.conv = nn.Conv2d(members * channels, members * channels, kernel_size=3, padding=1, groups=members)

    def branch(self, x: torch.Tensor) -> torch.Tensor:
        """The residual branch before any scaling: GELU(Spectral(x) + Conv3×3(x))."""
        return F.gelu(self.spectral(x) + self.conv(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.branch(x)
