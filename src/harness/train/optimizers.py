"""Optimizers selectable by name."""

from __future__ import annotations

from typing import Iterable

import torch

SGD_MOMENTUM = 0.9

# The optimizers by name: (parameters, lr, weight decay, betas) → optimizer.
OPTIMIZERS = {
    "adam": lambda parameters, lr, weight_decay, betas: torch.optim.Adam(parameters, lr=lr, betas=betas,
                                                                         weight_decay=weight_decay),
    "adamw": lambda parameters, lr, weight_decay, betas: torch.optim.AdamW(parameters, lr=lr, betas=betas,
                                                                           weight_decay=weight_decay),
    "sgd": lambda parameters, lr, weight_decay, betas: torch.optim.SGD(parameters, lr=lr, momentum=SGD_MOMENTUM,
                                                                       nesterov=True, weight_decay=weight_decay),
}


def build_optimizer(parameters: Iterable[torch.Tensor], name: str, *, lr: float, weight_decay: float = 0.0,
                    betas: tuple[float, float] = (0.9, 0.999)) -> torch.optim.Optimizer:
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer '{name}' (known: {', '.join(OPTIMIZERS)})")
    return OPTIMIZERS[name](list(parameters), lr, weight_decay, betas)
