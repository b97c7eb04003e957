"""The far-field forward model, one implementation for simulation and for the training loss."""

from __future__ import annotations

import torch


def far_field_amplitude(exit_wave: torch.Tensor) -> torch.Tensor:
    """fftshift(|FFT2(ψ)|) / N over the last two axes (N×N); Σa² = Σ|ψ|² (Parseval)."""
    n = exit_wave.shape[-1]
    spectrum = torch.fft.fft2(exit_wave, norm="backward")
    return torch.fft.fftshift(spectrum.abs(), dim=(-2, -1)) / n


def predicted_amplitude(object_patch: torch.Tensor, probe: torch.Tensor) -> torch.Tensor:
    """Diffraction amplitude of an object patch O lit by the (normalised) probe P: |F(O·P)|/N."""
    return far_field_amplitude(object_patch * probe)
