"""StablePtychoBlock (`stable_hybrid`, norm-last + LayerScale): y = x + λ ⊙ IN(GELU(Spectral(x) + Conv3×3(x)))."""

from __future__ import annotations

import torch
from torch import nn

from .layer_scale import LayerScale
from .ptycho_block import PtychoBlock

LAYER_SCALE_INIT = 1e-3


class StablePtychoBlock(PtychoBlock):
    def __init__(self, channels: int, modes: int, input_size: int | None = None,
                 layer_scale_init: float = LAYER_SCALE_INIT, members: int = 1):
        super().__init__(channels, modes, input_size, members=members)
        # per channel and sample, so K stacked members are normalised exactly as K separate blocks
        self.norm = nn.InstanceNorm2d(members * channels, affine=True, eps=1e-5, track_running_stats=False)
        self.layer_scale = LayerScale(members * channels, layer_scale_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.layer_scale(self.norm(self.branch(x)))
