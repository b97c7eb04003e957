"""Twin-image evidence: do the predicted patches follow the object, or its point reflection?

With one diffraction pattern per patch and a probe whose modulus is point-symmetric about a centre c
(the default synthetic disk: c = ((N−1)/2, (N−1)/2)), O'(r) = conj(O(c−r)) · conj(P(c−r)) / P(r) gives
exactly the same far-field amplitude as O(r): |O'| is the point-reflected |O|. A network can therefore fit
every pattern with reflected patches. The stitched image keeps only each patch's central tile and hides
most of it, so the evidence is per patch, over the pixels that hold most of the probe's energy (a focused
probe spreads over rings a half-maximum threshold would cut away), reflected about the probe's own
symmetry centre.
"""

from __future__ import annotations

import numpy as np

from ..physics.probe import probe_symmetry, reflect_about

ENERGY_SHARE = 0.90     # the region holds this share of |P|² (with every pixel's reflection)
DIM_FRACTION = 1e-3     # pixels where |P| or its reflection is below this share of the maximum are left out


def point_reflect(patches: np.ndarray, shift: tuple[int, int] = (0, 0)) -> np.ndarray:
    """Reflect each N×N patch through (N−1)/2 + shift/2 (shift in half-pixels; (0, 0): the array centre)."""
    return reflect_about(patches, (shift[0], shift[1]))


def twin_region(probe: np.ndarray, shift: tuple[int, int]) -> np.ndarray:
    """The brightest pixels holding ENERGY_SHARE of |P|², with their reflections, where both are lit."""
    energy = np.abs(probe).astype(np.float64) ** 2
    order = np.argsort(energy, axis=None)[::-1]
    cumulative = np.cumsum(energy.ravel()[order]) / energy.sum()
    region = np.zeros(energy.size, dtype=bool)
    region[order[:int(np.searchsorted(cumulative, ENERGY_SHARE)) + 1]] = True
    region = region.reshape(energy.shape)
    lit = energy >= (DIM_FRACTION * np.sqrt(energy.max())) ** 2
    lit &= point_reflect(lit, shift)
    return (region | point_reflect(region, shift)) & lit


def _correlations(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation per row of two (n, pixels) arrays; nan where either row is constant."""
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    denominator = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, (a * b).sum(axis=1) / np.where(denominator > 0, denominator, 1), np.nan)


def patch_correlations(object_patches: np.ndarray, y_i: np.ndarray, probe: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(direct, twin): per patch, the correlation of the predicted |O| with the true amplitude Y and
    with its point reflection about the probe's symmetry centre, over the twin region.

    y_i: the dataset's Y_I = Y·|P| (n, N, N); probe: the normalised probe P (N, N).
    """
    shift = tuple(probe_symmetry(probe)["shift"])
    modulus = np.abs(probe).astype(np.float64)
    region = twin_region(probe, shift)
    predicted = np.abs(object_patches).astype(np.float64)[:, region]
    truth = np.asarray(y_i, dtype=np.float64)[:, region] / modulus[region]
    reflected = point_reflect(np.asarray(y_i, dtype=np.float64), shift)[:, region] / point_reflect(modulus, shift)[region]
    direct = _correlations(predicted, truth)
    twin = _correlations(predicted, reflected)
    return direct.astype(np.float32), twin.astype(np.float32)


def twin_evidence(direct: np.ndarray, twin: np.ndarray, symmetry: dict | None = None) -> dict | None:
    """Median correlations and the fraction of patches closer to the reflection (finite patches only), with
    the probe's point-asymmetry and whether an exact amplitude twin exists, when known."""
    valid = np.isfinite(direct) & np.isfinite(twin)
    if not valid.any():
        return None
    direct, twin = direct[valid].astype(np.float64), twin[valid].astype(np.float64)
    evidence = {"median_direct": float(np.median(direct)), "median_twin": float(np.median(twin)),
                "twin_better_fraction": float(np.mean(twin > direct)), "patches": int(valid.sum())}
    if symmetry is not None:
        evidence.update(probe_asymmetry=symmetry["asymmetry"], exact_twin=symmetry["exact_twin"])
    return evidence
