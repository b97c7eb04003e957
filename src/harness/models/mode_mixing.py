"""Per-mode complex channel mixing, Y[m] = X[m] @ W[m], with a backward that never copies W.

Autograd's own complex bmm backward multiplies by conj(W)ᵀ and so materialises a conjugated copy
of the whole weight every step (the largest tensors of the model at depth 6). Here the conjugation
is moved onto the small activations instead: ∂X = conj(conj(G) @ Wᵀ), ∂W = conj(X)ᵀ @ G —
the same gradients, with W only read through a transposed view.
"""

from __future__ import annotations

import torch


class ModeMixing(torch.autograd.Function):
    @staticmethod
    def forward(ctx, spectrum: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        """spectrum (modes, batch, c_in) and weight (modes, c_in, c_out), both complex."""
        ctx.save_for_backward(spectrum, weight)
        return torch.bmm(spectrum, weight)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        spectrum, weight = ctx.saved_tensors
        grad_spectrum = grad_weight = None
        if ctx.needs_input_grad[0]:
            grad_spectrum = torch.bmm(grad.conj().resolve_conj(), weight.transpose(1, 2)).conj().resolve_conj()
        if ctx.needs_input_grad[1]:
            grad_weight = torch.bmm(spectrum.conj().resolve_conj().transpose(1, 2), grad)
        return grad_spectrum, grad_weight


def mix_modes(spectrum: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """(modes, batch, c_in) @ (modes, c_in, c_out) → (modes, batch, c_out), complex."""
    return ModeMixing.apply(spectrum, weight)
