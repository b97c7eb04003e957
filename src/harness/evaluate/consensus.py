"""Reconstructs the object, without the object: agreement across the seeds of one configuration.

With measured data there is no ground truth to grade a run that fits the diffraction: it may have found the
object, or a wrong one that fits as well (the twin image under a point-symmetric probe, or another). What
can be measured is whether the runs of a configuration agree. Each is registered (shift, phase ramp, global
phase: `alignment.py`) onto the *medoid* — the run with the highest median agreement with the others,
which no outlier can move — and compared by the amplitude correlation there (`agreement`, blind to the phase a
network's patches each carry with their own offset). A run that agrees with it is taken to reconstruct; one that
agrees with the medoid's point-reflected conjugate instead (by a margin) is a `twin_image`; one that agrees with
neither is a `wrong_solution`. Which runs take part, and what a label means for a run that does not fit the data,
is `study/agreement.py`'s to say.

What this cannot tell: if most seeds converge to the same wrong object, it is the consensus, and the runs that
found it are called reconstructing (only ground truth, or another method's reconstruction as a reference, can
say otherwise); with fewer than MIN_RUNS runs, or no majority agreeing with the medoid, there is no consensus and
no run is judged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .alignment import agreement, apply_registration, interior, register
from .twin import patch_correlations, twin_evidence

MIN_RUNS = 3
# The amplitude correlation from which two reconstructions show the same object. Measured on the 14 ok runs of a
# quick crash hunt (depths 4 and 6, fzp probe): 0.87–0.98 between any two (median 0.96), 0.15–0.34 between one and
# another's reflected conjugate, 0.80–0.91 with the true object; to be calibrated on runs that fail.
AGREES = 0.80
TWIN_MARGIN = 0.10   # how much closer to the reflected consensus than to the consensus a twin must be


@dataclass(frozen=True)
class SeedAgreement:
    seed: int
    with_consensus: float
    with_twin: float
    label: str        # "agrees", "wrong_solution", "twin_image", or "no_consensus"
    consensus_seed: int | None = None   # the medoid's seed


def point_reflected_conjugate(image: np.ndarray) -> np.ndarray:
    """conj(O(−r)): the twin of an object about the image's centre."""
    return np.conj(image[::-1, ::-1])


def registered_agreement(image: np.ndarray, reference: np.ndarray) -> float:
    """The agreement once registered; 0 where nothing is left to compare (two unrelated images can register at a
    shift as large as themselves)."""
    registration = register(image, reference)
    value = agreement(apply_registration(image, registration), reference, interior(reference.shape, registration))
    return value if np.isfinite(value) else 0.0


def consensus_labels(reconstructions: dict[int, np.ndarray], agrees: float = AGREES,
                     twin_margin: float = TWIN_MARGIN) -> list[SeedAgreement]:
    """Each run's agreement with the consensus and with its twin, and what that makes it (see above)."""
    return labels_from_agreements(
        sorted(reconstructions), lambda a, b: registered_agreement(reconstructions[a], reconstructions[b]),
        lambda a, b: registered_agreement(reconstructions[a], point_reflected_conjugate(reconstructions[b])),
        agrees, twin_margin)


def labels_from_agreements(seeds: list[int], agreement_of: Callable[[int, int], float],
                           twin_agreement_of: Callable[[int, int], float], agrees: float = AGREES,
                           twin_margin: float = TWIN_MARGIN) -> list[SeedAgreement]:
    """`consensus_labels` from the agreements themselves: agreement_of(a, b), run a registered onto run b, and
    twin_agreement_of(a, b), run a onto b's point-reflected conjugate (so that a caller can keep them)."""
    if len(seeds) < MIN_RUNS:
        return [SeedAgreement(seed, float("nan"), float("nan"), "no_consensus") for seed in seeds]
    pairs = {(a, b): agreement_of(a, b) for a in seeds for b in seeds if a != b}
    medoid = max(seeds, key=lambda s: (np.median([pairs[(s, other)] for other in seeds if other != s]), -s))
    results = []
    for seed in seeds:
        direct = 1.0 if seed == medoid else pairs[(seed, medoid)]
        reflected = twin_agreement_of(seed, medoid)
        results.append(SeedAgreement(seed, direct, reflected, _label(direct, reflected, agrees, twin_margin), medoid))
    if sum(result.label == "agrees" for result in results) * 2 <= len(results):   # no majority: no consensus
        return [SeedAgreement(r.seed, r.with_consensus, r.with_twin, "no_consensus", medoid) for r in results]
    return results


def patch_twin_evidence(run_patches: np.ndarray, consensus_patches: np.ndarray, probe: np.ndarray) -> dict | None:
    """The per-patch twin evidence of `twin.py` with the consensus run's patches in the true object's place: a
    network's twin is reflected patch by patch, about the probe's centre, which the stitched image hides."""
    return twin_evidence(*patch_correlations(run_patches, np.abs(consensus_patches) * np.abs(probe), probe))


def _label(direct: float, reflected: float, agrees: float, twin_margin: float) -> str:
    if direct >= agrees:
        return "agrees"
    if reflected >= agrees and reflected >= direct + twin_margin:
        return "twin_image"
    return "wrong_solution"
