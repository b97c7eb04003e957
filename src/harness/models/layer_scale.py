"""LayerScale: a learnable per-channel scale for NCHW tensors."""

from __future__ import annotations

import torch
from torch import nn


class LayerScale(nn.Module):
    def __init__(self, channels: int, init_value: float = 1e-3):
        super().__init__()
        self.init_value = init_value
        self.scale = nn.Parameter(torch.full((channels,), float(init_value)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale.view(1, -1, 1, 1)

    def extra_repr(self) -> str:
        return f"{self.scale.numel()}, init_value={self.init_value}"
