"""2-D spectral convolution (Fourier layer) over the lowest non-negative frequencies."""

from __future__ import annotations

import math
from contextlib import nullcontext

import torch
from torch import nn

from .mode_mixing import mix_modes
from .truncated_fft import truncated_rfft


def live_modes(modes: int, height: int, width: int) -> tuple[int, int]:
    """Modes a (height × width) input can reach: rows 0..m_h−1 of the FFT, columns 0..m_w−1 of the rFFT."""
    return min(modes, height), min(modes, width // 2 + 1)


def _without_autocast(device_type: str):
    if torch.amp.is_autocast_available(device_type):
        return torch.autocast(device_type, enabled=False)
    return nullcontext()  # e.g. the meta device used by `harness describe`


def definition_forward(layer: "SpectralConv2d", x: torch.Tensor) -> torch.Tensor:
    """The definition written out, the reference the fast forward is tested and benchmarked against: a full
    rfft2, keep rows 0..m_h−1 and columns 0..m_w−1, mix channels per mode, irfft2 of the zero-padded
    spectrum (autograd's own backward throughout)."""
    height, width = x.shape[-2:]
    modes_h, modes_w = live_modes(layer.modes, height, width)
    spectrum = torch.fft.rfft2(x.float())
    out = spectrum.new_zeros(x.shape[0], layer.out_channels, height, width // 2 + 1)
    out[:, :, :modes_h, :modes_w] = torch.einsum("bixy,ioxy->boxy", spectrum[:, :, :modes_h, :modes_w],
                                                 layer.weight[:, :, :modes_h, :modes_w])
    return torch.fft.irfft2(out, s=(height, width))


class SpectralConv2d(nn.Module):
    """y = irfft2(W ⊙ rfft2(x)) on the kept modes, zero elsewhere; no bias.

    The weight is complex [c_in, c_out, modes, modes] with variance 1/c_in (real and imaginary
    parts each 1/(2·c_in)). Built for a known `input_size`, the modes that input can never reach
    are kept apart in `weight_unreachable`, a frozen parameter: they still count as parameters (the
    model has the size the user asked for), but no gradient or optimizer update is spent on them.
    The forward pass and every gradient are the same as with one [c_in, c_out, modes, modes] weight.

    The weight keeps its [c_in, c_out, h, w] shape but is stored mode-major (memory order h, w, c_in,
    c_out), so the per-mode matrices are a view with no copy; its gradient and the optimizer's
    state follow the same layout. Only the kept rows and columns of the spectrum are transformed
    (a 1-D rFFT over the width, then an FFT over the height of the kept columns only) — the same
    values as slicing a full rfft2, and the inverse is irfft2 of the zero-padded spectrum.

    members=K stacks K independent layers (seed-batched training, see `members.py`): channels come in
    K blocks of the input (member k's are channels k·c_in … (k+1)·c_in − 1), the weight is
    [K·c_in, c_out, h, w] (member k's rows are its own weight) and the mode mixing is one batched
    product over modes × members.
    """

    def __init__(self, in_channels: int, out_channels: int, modes: int, input_size: int | None = None,
                 members: int = 1):
        super().__init__()
        self.in_channels, self.out_channels, self.modes = in_channels, out_channels, modes
        self.input_size, self.members = input_size, members
        self.kept_h, self.kept_w = live_modes(modes, input_size, input_size) if input_size else (modes, modes)
        mode_major = torch.empty(self.kept_h, self.kept_w, members * in_channels, out_channels, dtype=torch.complex64)
        self.weight = nn.Parameter(mode_major.permute(2, 3, 0, 1))
        unreachable = modes * modes - self.kept_h * self.kept_w
        self.weight_unreachable = (
            nn.Parameter(torch.empty(members * in_channels, out_channels, unreachable, dtype=torch.complex64),
                         requires_grad=False)
            if unreachable else None
        )
        self.reset_parameters()

    def _kept_mask(self) -> torch.Tensor:
        mask = torch.zeros(self.modes, self.modes, dtype=torch.bool)
        mask[:self.kept_h, :self.kept_w] = True
        return mask

    def reset_parameters(self) -> None:
        if self.weight.device.type == "meta":
            return
        with torch.no_grad():
            full = torch.randn(self.members * self.in_channels, self.out_channels, self.modes, self.modes,
                               dtype=torch.complex64, device=self.weight.device) / math.sqrt(self.in_channels)
            self.weight.copy_(full[:, :, :self.kept_h, :self.kept_w])
            if self.weight_unreachable is not None:
                self.weight_unreachable.copy_(full[:, :, ~self._kept_mask()])

    def full_weight(self) -> torch.Tensor:
        """The whole [K·c_in, c_out, modes, modes] weight, reachable and unreachable modes together."""
        full = self.weight.new_zeros(self.members * self.in_channels, self.out_channels, self.modes, self.modes)
        full[:, :, :self.kept_h, :self.kept_w] = self.weight
        if self.weight_unreachable is not None:
            full[:, :, ~self._kept_mask().to(full.device)] = self.weight_unreachable
        return full

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        modes_h, modes_w = live_modes(self.modes, height, width)
        if modes_h > self.kept_h or modes_w > self.kept_w:
            raise ValueError(f"this layer was built for {self.input_size}×{self.input_size} inputs; "
                             f"a {height}×{width} input reaches modes it does not train")
        batch, members, c_in, c_out = x.shape[0], self.members, self.in_channels, self.out_channels
        with _without_autocast(x.device.type):  # FFTs and spectral weights stay float32
            columns = truncated_rfft(x.float(), modes_w)
            kept = torch.fft.fft(columns, dim=-2)[..., :modes_h, :]                 # rfft2(x)[..., :m_h, :m_w]
            weight = self.weight.permute(2, 3, 0, 1)[:modes_h, :modes_w]          # a view, no copy
            if members == 1:
                per_mode = kept.permute(2, 3, 0, 1).reshape(modes_h * modes_w, batch, c_in)
                mixed = mix_modes(per_mode, weight.reshape(modes_h * modes_w, c_in, c_out))
                mixed = mixed.reshape(modes_h, modes_w, batch, c_out).permute(2, 3, 0, 1)
            else:  # one batched product over (mode, member) pairs
                per_mode = kept.reshape(batch, members, c_in, modes_h, modes_w).permute(3, 4, 1, 0, 2)
                per_mode = per_mode.reshape(modes_h * modes_w * members, batch, c_in)
                mixed = mix_modes(per_mode, weight.reshape(modes_h * modes_w * members, c_in, c_out))
                mixed = mixed.reshape(modes_h, modes_w, members, batch, c_out).permute(3, 2, 4, 0, 1)
                mixed = mixed.reshape(batch, members * c_out, modes_h, modes_w)
            return torch.fft.irfft(torch.fft.ifft(mixed, n=height, dim=-2), n=width, dim=-1)

    def extra_repr(self) -> str:
        stacked = f", members={self.members}" if self.members > 1 else ""
        return (f"{self.in_channels}, {self.out_channels}, modes={self.modes}, trained modes={self.kept_h}×{self.kept_w}"
                f"{stacked}")
