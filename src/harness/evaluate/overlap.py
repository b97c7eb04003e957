"""Whether a run's patches describe one object: where the probe lights the same part of the object from two scan
positions, both predicted patches must show the same amplitude there.

This is the constraint ptychography rests on, and it needs no ground truth. A network predicts each patch from its
own pattern, so it can fit every pattern with a patch that is not the object — under a probe whose |P| is
point-symmetric, each patch's twin (the patch's own point-reflected conjugate) fits its pattern exactly — and such
patches contradict each other where the scan overlaps: each is reflected about its own centre.
"""

from __future__ import annotations

import numpy as np

from ..physics.probe import probe_symmetry
from .twin import point_reflect

LIT = 0.2            # |P| ≥ this share of its maximum: the pixels a pattern says something about
MIN_PIXELS = 16      # an overlap smaller than this is not compared


def lit_mask(probe: np.ndarray, share: float = LIT) -> np.ndarray:
    modulus = np.abs(probe)
    return modulus >= share * modulus.max()


def overlap_consistency(patches: np.ndarray, xcoords: np.ndarray, ycoords: np.ndarray, probe: np.ndarray) -> float:
    """The median, over pairs of positions whose lit regions overlap, of the correlation of the two predicted
    amplitudes on the pixels both light (positions rounded to the pixel); nan when no two positions overlap enough.
    Near one for patches cut from one object; low for patches that each fit their pattern with another object."""
    amplitude = np.abs(patches).astype(np.float64)
    n = amplitude.shape[-1]
    mask = lit_mask(probe)
    rows, cols = np.nonzero(mask)
    reach = max(rows.max() - rows.min(), cols.max() - cols.min())   # lit regions farther apart than this do not meet
    x, y = (np.rint(np.asarray(c, dtype=np.float64)).astype(np.int64) for c in (xcoords, ycoords))
    correlations = []
    for k in range(len(x)):
        for j in np.nonzero((np.abs(x - x[k]) <= reach) & (np.abs(y - y[k]) <= reach) & (np.arange(len(x)) > k))[0]:
            dy, dx = int(y[j] - y[k]), int(x[j] - x[k])
            # pixel r of patch k is pixel r − (dy, dx) of patch j
            rk = slice(max(dy, 0), n + min(dy, 0)), slice(max(dx, 0), n + min(dx, 0))
            rj = slice(max(-dy, 0), n + min(-dy, 0)), slice(max(-dx, 0), n + min(-dx, 0))
            both = mask[rk] & mask[rj]
            if both.sum() < MIN_PIXELS:
                continue
            a, b = amplitude[k][rk][both], amplitude[j][rj][both]
            a, b = a - a.mean(), b - b.mean()
            scale = np.sqrt((a * a).sum() * (b * b).sum())
            if scale > 0:
                correlations.append(float((a * b).sum() / scale))
    return float(np.median(correlations)) if correlations else float("nan")


def overlap_evidence(patches: np.ndarray, xcoords: np.ndarray, ycoords: np.ndarray, probe: np.ndarray) -> dict:
    """The overlap consistency of the patches as predicted (`direct`) and of each patch replaced by its own twin —
    its point-reflected conjugate about the probe's centre (`twin`). Patches that each fit their pattern with their
    twin are made consistent again by reflecting them: then `twin` exceeds `direct`."""
    reflected = np.conj(point_reflect(patches, tuple(probe_symmetry(probe)["shift"])))
    return {"direct": overlap_consistency(patches, xcoords, ycoords, probe),
            "twin": overlap_consistency(reflected, xcoords, ycoords, probe)}
