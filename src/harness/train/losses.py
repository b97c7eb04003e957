"""Physics-informed losses on diffraction amplitudes, normalised by the batch's mean amplitude."""

from __future__ import annotations

import torch
from torch.nn import functional as F

NORMALISER_EPS = 1e-8

# The per-element loss terms by name, before normalisation: |A_pred − X|, or the Poisson NLL of counts X²
# at rate A_pred².
LOSS_MODES = {
    "mae": lambda predicted, measured: (predicted - measured).abs(),
    "poisson": lambda predicted, measured: F.poisson_nll_loss(predicted.square(), measured.square(), log_input=False,
                                                              full=False, eps=NORMALISER_EPS, reduction="none"),
}


def amplitude_loss_terms(predicted: torch.Tensor, measured: torch.Tensor, mode: str) -> torch.Tensor:
    if mode not in LOSS_MODES:
        raise ValueError(f"unknown loss mode '{mode}' (known: {', '.join(LOSS_MODES)})")
    return LOSS_MODES[mode](predicted, measured)


def amplitude_loss(predicted: torch.Tensor, measured: torch.Tensor, mode: str = "mae") -> torch.Tensor:
    """mean(terms) / (mean(X) + 1e-8), the normaliser detached."""
    return amplitude_loss_terms(predicted, measured, mode).mean() / (measured.detach().mean() + NORMALISER_EPS)
