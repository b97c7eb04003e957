"""Learning-rate schedules, stepped per epoch."""

import math

import pytest
import torch

from harness.train.schedulers import build_scheduler, step_scheduler, warmup_cosine_factor


def _rates(name, epochs, val_losses=None, **kwargs):
    optimizer = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=1e-3)
    scheduler = build_scheduler(optimizer, name, epochs=epochs, **kwargs)
    used = []
    for epoch in range(epochs):
        used.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        step_scheduler(scheduler, val_losses[epoch] if val_losses else 1.0)
    return used, optimizer.param_groups[0]["lr"]


def test_warmup_cosine_values():
    used, after_last = _rates("WarmupCosine", 10, warmup_epochs=2, min_lr_ratio=0.05)
    assert used[0] == pytest.approx(1e-4)
    assert used[0] < used[1] < used[2]
    assert used[2] == pytest.approx(1e-3)
    assert all(a > b for a, b in zip(used[2:], used[3:]))
    for epoch in range(2, 10):  # the cosine itself
        expected = 1e-3 * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * (epoch - 2) / 8)))
        assert used[epoch] == pytest.approx(expected)
    assert after_last == pytest.approx(5e-5, rel=0.1)


def test_warmup_cosine_without_warmup_starts_at_the_base_rate():
    used, after_last = _rates("WarmupCosine", 10, warmup_epochs=0, min_lr_ratio=0.05)
    assert used[0] == pytest.approx(1e-3)
    assert after_last == pytest.approx(5e-5, rel=1e-6)
    assert warmup_cosine_factor(0, 10, 0, 0.0) == 1.0


def test_default_exponential_and_plateau():
    assert _rates("Default", 4)[0] == [1e-3] * 4
    used, _ = _rates("Exponential", 3)
    assert used == pytest.approx([1e-3, 0.95e-3, 0.95**2 * 1e-3])
    used, _ = _rates("ReduceLROnPlateau", 6, val_losses=[1.0, 0.9, 0.9, 0.9, 0.9, 0.9])
    assert used[:4] == pytest.approx([1e-3] * 4) and used[5] == pytest.approx(5e-4)


def test_unknown_scheduler():
    with pytest.raises(ValueError, match="WarmupCosine"):
        _rates("Cyclic", 2)
