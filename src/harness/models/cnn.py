"""`cnn`: PtychoPINN's default generator, a convolutional encoder–decoder with separate amplitude and phase heads,
written here from its published description — the baseline a PtychoPINN user compares every other generator with.

The encoder has depth − 1 levels; each is two 3×3 convolutions with ReLU, then a 2×2 max-pool, with width·2^i
channels at level i (capped at max_hidden_channels). At depth 4 and n = 64 this is PtychoPINN's geometry:
64 → 8 pixels, channels (width, 2·width, 4·width); its default width is 64 (n_filters_scale 2 × 32).

Each head climbs back with the same blocks in reverse (two 3×3 convolutions with ReLU, then nearest-neighbour
2× upsampling) to half the patch size, where its last stage splits the channels: most of them (7/8) go through a
3×3 convolution and the head's activation and are zero-padded by n/4 on each side — the object's central
region — while the rest (at least one) are upsampled once more by another block, convolved and passed through
SiLU over the whole patch; the two are added. The amplitude head's activation is the sigmoid, the phase head's
π·tanh; the object patch is amplitude · exp(i·phase). No spectral layer: `modes` does not apply.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .plan import GeneratorPlan, InfeasibleModel

OUTER_FRACTION = 0.125   # the share of the last stage's channels that make the full-patch path


def conv3(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel_size=3, padding=1)


class ConvPair(nn.Module):
    """Two 3×3 convolutions, each followed by ReLU, then `resample` (max-pool or upsampling)."""

    def __init__(self, cin: int, cout: int, resample: nn.Module):
        super().__init__()
        self.first, self.second, self.resample = conv3(cin, cout), conv3(cout, cout), resample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.resample(torch.relu(self.second(torch.relu(self.first(x)))))


def down(cin: int, cout: int) -> ConvPair:
    return ConvPair(cin, cout, nn.MaxPool2d(2))


def up(cin: int, cout: int) -> ConvPair:
    return ConvPair(cin, cout, nn.Upsample(scale_factor=2, mode="nearest"))


class Head(nn.Module):
    """One output map (amplitude or phase) from the encoder's deepest features."""

    def __init__(self, channels: list[int], n: int, activation):
        super().__init__()
        rising = channels[::-1]                                      # deepest first
        self.blocks = nn.ModuleList(up(a, b) for a, b in zip(rising, rising[1:]))
        last = channels[0]
        self.outer = max(1, int(last * OUTER_FRACTION))
        self.centre = conv3(last - self.outer, 1)
        self.widen = up(self.outer, last)
        self.whole = conv3(last, 1)
        self.pad = nn.ZeroPad2d(n // 4)
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        centre = self.pad(self.activation(self.centre(x[:, :-self.outer])))
        whole = nn.functional.silu(self.whole(self.widen(x[:, -self.outer:])))
        return (centre + whole)[:, 0]


class CnnGenerator(nn.Module):
    def __init__(self, plan: GeneratorPlan):
        super().__init__()
        check_cnn(plan)
        channels = plan.channels[:plan.depth - 1]
        self.encoder = nn.Sequential(*(down(a, b) for a, b in zip([plan.in_channels, *channels], channels)))
        self.amplitude = Head(channels, plan.n, torch.sigmoid)
        self.phase = Head(channels, plan.n, lambda x: math.pi * torch.tanh(x))

    def forward(self, diffraction: torch.Tensor) -> torch.Tensor:
        features = self.encoder(diffraction)
        amplitude, phase = self.amplitude(features).float(), self.phase(features).float()
        # amplitude · exp(i·phase), the amplitude as the head gives it (its SiLU path may dip below zero)
        return torch.complex(amplitude * torch.cos(phase), amplitude * torch.sin(phase))


def check_cnn(plan: GeneratorPlan) -> None:
    """Its last stage works at half the patch size, so it needs at least one level, and n divisible by 4 for the
    central region's padding."""
    if plan.depth < 2:
        raise InfeasibleModel(f"depth {plan.depth} of cnn has no encoder level: it needs depth ≥ 2")
    if plan.n % 4:
        raise InfeasibleModel(f"cnn pads its central region by n/4: n={plan.n} must be divisible by 4")
