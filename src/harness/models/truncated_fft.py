"""The lowest frequencies of a real signal's rFFT along its last axis, with a backward of the same size.

Autograd's rfft backward zero-pads the gradient to the full two-sided length and runs a complex
FFT of the whole input's size; keeping only `modes` of n//2+1 columns, the adjoint is one
inverse real FFT: ∂L/∂x_t = Re Σ_k g_k e^{+2πikt/n} = n · irfft(g ⊙ w, n)_t, with w_k = 1/2
except at k = 0 and k = n/2, which irfft counts once.
"""

from __future__ import annotations

import torch


class TruncatedRFFT(torch.autograd.Function):
    @staticmethod
    def forward(ctx, signal: torch.Tensor, modes: int) -> torch.Tensor:
        ctx.length = signal.shape[-1]
        return torch.fft.rfft(signal, dim=-1)[..., :modes]

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        length = ctx.length
        weights = torch.full((grad.shape[-1],), length / 2, dtype=grad.real.dtype, device=grad.device)
        weights[0] = length
        if length % 2 == 0 and grad.shape[-1] > length // 2:
            weights[length // 2] = length
        return torch.fft.irfft(grad * weights, n=length, dim=-1), None


def truncated_rfft(signal: torch.Tensor, modes: int) -> torch.Tensor:
    """torch.fft.rfft(signal, dim=-1)[..., :modes]; the same values and gradients, a cheaper backward."""
    return TruncatedRFFT.apply(signal, modes)
