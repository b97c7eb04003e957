"""2-D spectral convolution (Fourier layer) over the lowest non-negative frequencies (SPEC §4)."""

from __future__ import annotations

import math

import torch
from torch import nn


def live_modes(modes: int, height: int, width: int) -> tuple[int, int]:
    """Modes a (height × width) input can reach: rows 0..m_h−1 of the FFT, columns 0..m_w−1 of the rFFT."""
    return min(modes, height), min(modes, width // 2 + 1)


class SpectralConv2d(nn.Module):
    """y = irfft2(W ⊙ rfft2(x)) on the kept modes, zero elsewhere; no bias.

    The weight is complex [c_in, c_out, modes, modes] with variance 1/c_in (real and imaginary
    parts each 1/(2·c_in)). An input smaller than the modes uses only the leading slice of it.
    """

    def __init__(self, in_channels: int, out_channels: int, modes: int):
        super().__init__()
        self.in_channels, self.out_channels, self.modes = in_channels, out_channels, modes
        self.weight = nn.Parameter(torch.empty(in_channels, out_channels, modes, modes, dtype=torch.complex64))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.weight.device.type == "meta":
            return
        with torch.no_grad():
            self.weight.copy_(torch.randn_like(self.weight) / math.sqrt(self.in_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        modes_h, modes_w = live_modes(self.modes, height, width)
        spectrum = torch.fft.rfft2(x.float(), norm="backward")
        kept = spectrum[:, :, :modes_h, :modes_w]
        mixed = torch.einsum("bixy,ioxy->boxy", kept, self.weight[:, :, :modes_h, :modes_w])
        out = spectrum.new_zeros(x.shape[0], self.out_channels, height, width // 2 + 1)
        out[:, :, :modes_h, :modes_w] = mixed
        return torch.fft.irfft2(out, s=(height, width), norm="backward")

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, modes={self.modes}"
