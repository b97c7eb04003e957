"""Learning-rate schedules, stepped once per epoch."""

from __future__ import annotations

import math

import torch

EXPONENTIAL_GAMMA = 0.95
PLATEAU_FACTOR, PLATEAU_PATIENCE = 0.5, 2
WARMUP_START_FACTOR = 0.1


def warmup_cosine_factor(epoch: int, total_epochs: int, warmup_epochs: int, min_ratio: float) -> float:
    """Multiplier of the base rate for `epoch` (0-based; `total_epochs` is the value after the last step).

    Linear from 0.1 to 1 over the warm-up epochs, then a cosine from 1 to min_ratio at total_epochs.
    """
    if warmup_epochs > 0 and epoch < warmup_epochs:
        return WARMUP_START_FACTOR + (1 - WARMUP_START_FACTOR) * epoch / warmup_epochs
    decay_epochs = max(total_epochs - warmup_epochs, 1)
    progress = min((epoch - warmup_epochs) / decay_epochs, 1.0)
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


# The schedules by name: (optimizer, epochs, warm-up epochs, min-LR ratio) → scheduler, None for a constant rate.
SCHEDULERS = {
    "Default": lambda optimizer, epochs, warmup_epochs, min_lr_ratio: None,
    "Exponential": lambda optimizer, epochs, warmup_epochs, min_lr_ratio: torch.optim.lr_scheduler.ExponentialLR(
        optimizer, gamma=EXPONENTIAL_GAMMA),
    "WarmupCosine": lambda optimizer, epochs, warmup_epochs, min_lr_ratio: torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda epoch: warmup_cosine_factor(epoch, epochs, warmup_epochs, min_lr_ratio)),
    "ReduceLROnPlateau": lambda optimizer, epochs, warmup_epochs, min_lr_ratio:
        torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=PLATEAU_FACTOR, patience=PLATEAU_PATIENCE),
}


def build_scheduler(optimizer: torch.optim.Optimizer, name: str, *, epochs: int, warmup_epochs: int = 0,
                    min_lr_ratio: float = 0.0):
    """The scheduler for `name`, or None for `Default` (a constant rate)."""
    if name not in SCHEDULERS:
        raise ValueError(f"unknown scheduler '{name}' (known: {', '.join(SCHEDULERS)})")
    return SCHEDULERS[name](optimizer, epochs, warmup_epochs, min_lr_ratio)


def step_scheduler(scheduler, val_loss: float) -> None:
    if scheduler is None:
        return
    if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
        scheduler.step(val_loss if math.isfinite(val_loss) else float("inf"))
    else:
        scheduler.step()
