"""`ffno`: the factorised Fourier neural operator as the original study's later generator composes it.

A factorised spectral layer mixes channels along each axis separately (a 1-D rFFT over the width, one over
the height, each with its own [c, c, modes] complex weight, the two results summed): 2·c²·m weights where a
2-D layer has c²·m². The generator is lift → depth residual blocks at full resolution that share one
factorised layer and one gate (x + g · Conv1×1(GELU(Conv1×1(IN(Spectral(x)))))) with a 2× channel MLP and
the gate starting at 0.1 → two local residual refiners (Conv3×3 → GELU → Conv3×3) → complex head.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from .generator import Lift, complex_output
from .plan import GeneratorPlan

MLP_RATIO = 2
GATE_INIT = 0.1
REFINERS = 2


class FactorizedSpectralConv2d(nn.Module):
    """y = irfft_w(W_w ⊙ rfft_w(x)) + irfft_h(W_h ⊙ rfft_h(x)) on the lowest `modes` frequencies per axis."""

    def __init__(self, channels: int, modes: int):
        super().__init__()
        self.channels, self.modes = channels, modes
        scale = 1 / math.sqrt(channels)  # variance 1/c_in, as the 2-D spectral layer
        self.weight_w = nn.Parameter(torch.randn(channels, channels, modes, dtype=torch.complex64) * scale)
        self.weight_h = nn.Parameter(torch.randn(channels, channels, modes, dtype=torch.complex64) * scale)

    def _along(self, x: torch.Tensor, weight: torch.Tensor, dim: int) -> torch.Tensor:
        size = x.shape[dim]
        spectrum = torch.fft.rfft(x.float(), dim=dim)
        kept = min(self.modes, spectrum.shape[dim])
        mixed = torch.zeros_like(spectrum)
        head = spectrum.narrow(dim, 0, kept)
        w = weight[:, :, :kept]
        mixed.narrow(dim, 0, kept).copy_(torch.einsum("bi...m,iom->bo...m", head.movedim(dim, -1), w).movedim(-1, dim))
        return torch.fft.irfft(mixed, n=size, dim=dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._along(x, self.weight_w, -1) + self._along(x, self.weight_h, -2)


class FfnoBlock(nn.Module):
    def __init__(self, channels: int, spectral: FactorizedSpectralConv2d, gate: nn.Parameter):
        super().__init__()
        self.spectral = spectral          # shared by every block
        self.norm = nn.InstanceNorm2d(channels, affine=True, eps=1e-5)
        self.expand = nn.Conv2d(channels, MLP_RATIO * channels, kernel_size=1)
        self.project = nn.Conv2d(MLP_RATIO * channels, channels, kernel_size=1)
        self._gate = [gate]               # shared, registered once by the generator

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        update = self.project(F.gelu(self.expand(self.norm(self.spectral(x)))))
        return x + self._gate[0] * update


class LocalRefiner(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.gelu(self.conv1(x)))


class FfnoGenerator(nn.Module):
    def __init__(self, plan: GeneratorPlan):
        super().__init__()
        plan.check()
        self.plan = plan
        self.lift = Lift(plan.in_channels, plan.width)
        self.spectral = FactorizedSpectralConv2d(plan.width, plan.modes)
        self.gate = nn.Parameter(torch.tensor(GATE_INIT))
        self.blocks = nn.ModuleList(FfnoBlock(plan.width, self.spectral, self.gate) for _ in range(plan.depth))
        self.refiners = nn.ModuleList(LocalRefiner(plan.width) for _ in range(REFINERS))
        self.head = nn.Conv2d(plan.width, 2, kernel_size=1)

    def forward(self, diffraction: torch.Tensor) -> torch.Tensor:
        x = self.lift(diffraction)
        for block in [*self.blocks, *self.refiners]:
            x = block(x)
        return complex_output(self.head(x), 1)
