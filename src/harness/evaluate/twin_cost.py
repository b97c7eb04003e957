"""What the twin image costs under a probe: how well the point-reflected amplitude, with the best phase it
can be given, still fits the measured patterns — against the Poisson floor (the true object) and a
constant object. Under a probe with point-symmetric |P| the twin fits exactly (ratio 1); a probe that
breaks the symmetry makes it misfit.
"""

from __future__ import annotations

import numpy as np
import torch

from ..data.simulation import _split_arrays, diffraction_amplitude, photon_scale, resolve_probe
from ..physics import far_field_amplitude, normalize_probe
from ..physics.probe import probe_symmetry, reflect_about
from .fit_reference import fit_references


def _relative_mae(predicted: torch.Tensor, measured: torch.Tensor) -> torch.Tensor:
    return (predicted - measured).abs().mean() / measured.mean()


def amplitude_twin_misfit(diffraction: np.ndarray, amplitude: np.ndarray, phase: np.ndarray, probe: np.ndarray, *,
                          steps: int = 1500, starts: int = 4, learning_rate: float = 0.05, seed: int = 0) -> float:
    """The smallest relative MAE against the measured amplitudes X (k, N, N) of an object whose amplitude is the
    true amplitude Y (k, N, N) reflected about the probe's symmetry centre c and whose phase is fitted freely
    (Adam, `steps` steps from each of `starts` phases: the first the exact twin's −φ(c−r) − ∠P(c−r) − ∠P(r),
    which fits every pattern when |P| is point-symmetric, the others random). probe: normalised."""
    shift = tuple(probe_symmetry(probe)["shift"])
    reflected = torch.from_numpy(reflect_about(np.asarray(amplitude, dtype=np.float64), shift))
    probe_t = torch.from_numpy(np.asarray(probe, dtype=np.complex128))
    measured = torch.from_numpy(np.asarray(diffraction, dtype=np.float64))
    probe_angle = np.angle(np.asarray(probe, dtype=np.complex128))
    exact_twin = -reflect_about(np.asarray(phase, dtype=np.float64), shift) - reflect_about(probe_angle, shift) - probe_angle
    generator = torch.Generator().manual_seed(seed)
    best = np.inf
    for start in range(starts):
        guess = (torch.from_numpy(exact_twin.copy()) if start == 0 else
                 (torch.rand(reflected.shape, generator=generator, dtype=torch.float64) * 2 - 1) * np.pi)
        guess.requires_grad_(True)
        optimizer = torch.optim.Adam([guess], lr=learning_rate)
        for _ in range(steps + 1):  # the best of every step, the starting phase included
            optimizer.zero_grad()
            loss = _relative_mae(far_field_amplitude(torch.polar(reflected, guess) * probe_t), measured)
            best = min(best, float(loss.detach()))
            loss.backward()
            optimizer.step()
    return best


def twin_cost(diffraction: np.ndarray, amplitude: np.ndarray, phase: np.ndarray, probe: np.ndarray, **fit) -> dict:
    """The probe's asymmetry and, on these patches (true amplitude Y and phase φ, measured X), the Poisson
    floor, the constant object's misfit, the amplitude twin's misfit and its ratio to the floor."""
    symmetry = probe_symmetry(probe)
    references = fit_references(diffraction, amplitude * np.abs(probe), phase, probe)
    misfit = amplitude_twin_misfit(diffraction, amplitude, phase, probe, **fit)
    return {"asymmetry": symmetry["asymmetry"], "centre": symmetry["centre"], "exact_twin": symmetry["exact_twin"],
            "poisson_floor": references["fit_noise_floor"], "constant_object": references["fit_constant_object"],
            "twin_misfit": misfit, "twin_over_floor": misfit / references["fit_noise_floor"]}


def sample_patches(params, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(measured X, amplitude Y, phase φ, normalised probe) of `count` test patches of `params`' data, evenly
    spread over its test split, with Poisson noise at its photon count (the diffraction of these only)."""
    probe = normalize_probe(resolve_probe(params)[0])
    split = _split_arrays(params, 1, params.test_stride, params.test_seed)
    chosen = np.linspace(0, split["Y"].shape[0] - 1, count).astype(int)
    amplitude, phase = split["Y"][chosen], split["phi"][chosen]
    scale = photon_scale(amplitude, np.abs(probe), params.nphotons)
    return diffraction_amplitude(amplitude, phase, probe, scale, split["noise_rng"]), amplitude, phase, probe
