"""Twin-image evidence: do the predicted patches follow the object, or its point reflection?

With one diffraction pattern per patch and a probe whose modulus is point-symmetric about the patch
centre (the default synthetic disk), O'(r) = conj(O(−r)) · conj(P(−r)) / P(r) gives exactly the same
far-field amplitude as O(r): |O'| is the point-reflected |O|. A network can therefore fit every
pattern with reflected patches. The stitched image keeps only each patch's central tile and hides
most of it, so the evidence is per patch, over the probe's bright disk.
"""

from __future__ import annotations

import numpy as np

BRIGHT_FRACTION = 0.5   # the disk where |P| ≥ half its maximum: inside the illumination, away from its edge


def point_reflect(patches: np.ndarray) -> np.ndarray:
    """Reflect each N×N patch through its centre ((N−1)/2, the centre of the synthetic probe)."""
    return patches[..., ::-1, ::-1]


def _correlations(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation per row of two (n, pixels) arrays; nan where either row is constant."""
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    denominator = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, (a * b).sum(axis=1) / np.where(denominator > 0, denominator, 1), np.nan)


def patch_correlations(object_patches: np.ndarray, y_i: np.ndarray, probe: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(direct, twin): per patch, the correlation of the predicted |O| with the true amplitude Y and
    with its point reflection, over the pixels where the probe and its reflection are bright.

    y_i: the dataset's Y_I = Y·|P| (n, N, N); probe: the normalised probe P (N, N).
    """
    modulus = np.abs(probe).astype(np.float64)
    lit = modulus >= BRIGHT_FRACTION * modulus.max()
    bright = lit & point_reflect(lit)
    predicted = np.abs(object_patches).astype(np.float64)[:, bright]
    truth = np.asarray(y_i, dtype=np.float64)[:, bright] / modulus[bright]
    reflected = point_reflect(np.asarray(y_i, dtype=np.float64))[:, bright] / point_reflect(modulus)[bright]
    direct = _correlations(predicted, truth)
    twin = _correlations(predicted, reflected)
    return direct.astype(np.float32), twin.astype(np.float32)


def twin_evidence(direct: np.ndarray, twin: np.ndarray) -> dict | None:
    """Median correlations and the fraction of patches closer to the reflection (finite patches only)."""
    valid = np.isfinite(direct) & np.isfinite(twin)
    if not valid.any():
        return None
    direct, twin = direct[valid].astype(np.float64), twin[valid].astype(np.float64)
    return {"median_direct": float(np.median(direct)), "median_twin": float(np.median(twin)),
            "twin_better_fraction": float(np.mean(twin > direct)), "patches": int(valid.sum())}
