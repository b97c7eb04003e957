"""Probe creation, loading and normalisation."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter

from ..errors import UsageError

PROBE_KEY = "probeGuess"


def _centred_radius(n: int) -> np.ndarray:
    """Distance of every pixel from the array centre ((n-1)/2, as a symmetric window is centred)."""
    coords = np.arange(n) - (n - 1) / 2.0
    return np.hypot(coords[:, None], coords[None, :])


def probe_support_disk(n: int, radius: float) -> np.ndarray:
    """Boolean disk of the given radius centred in an n×n array."""
    return _centred_radius(n) <= radius


def synthetic_disk_radius(n: int) -> float:
    """Radius of the synthetic probe's disk: where the product of two Gaussian windows of std n/(0.7π²)
    exceeds 0.5, i.e. std·sqrt(2 ln 2) ≈ n/5.9."""
    return n / (0.7 * np.pi**2) * np.sqrt(2 * np.log(2))


def make_synthetic_probe(n: int, defocus: float = 0.0) -> np.ndarray:
    """Default probe: a disk of radius ≈ n/6, blurred with σ=1, plus 1e-9 (complex64; real when defocus is 0).

    The disk is where a separable Gaussian window of std n/(0.7π²) exceeds 0.5 in the product.
    defocus: a quadratic (defocus) phase, in radians at the disk's edge, as a real, slightly defocused
    probe has. It makes P differ from its point reflection's conjugate, so the exact twin of an object,
    conj(O(−r)), no longer fits its pattern; the twin that still does carries the extra phase
    −2·defocus·(r/R)² (|P| stays point-symmetric), i.e. it is no longer the same object reflected.
    """
    std = n / (0.7 * np.pi**2)
    coords = np.arange(n) - (n - 1) / 2.0
    window_1d = np.exp(-0.5 * (coords / std) ** 2)
    disk = (window_1d[:, None] * window_1d[None, :]) > 0.5
    probe = gaussian_filter(disk.astype(np.float64), sigma=1.0) + 1e-9
    if defocus:
        probe = probe * np.exp(1j * defocus * (_centred_radius(n) / synthetic_disk_radius(n)) ** 2)
    return probe.astype(np.complex64)


def load_probe_npz(path: str | Path, n: int) -> np.ndarray:
    """Load a complex n×n probe from key `probeGuess`; every failure names the file."""
    path = Path(path)
    flag = "--probe-npz"
    if not path.is_file():
        raise UsageError(flag, path, "file not found")
    if not zipfile.is_zipfile(path):
        raise UsageError(flag, path, "not an NPZ file (numpy.savez writes one)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            if PROBE_KEY not in archive.files:
                raise UsageError(flag, path, f"no key '{PROBE_KEY}' (keys: {', '.join(archive.files) or 'none'})")
            probe = np.asarray(archive[PROBE_KEY])
    except UsageError:
        raise
    except Exception as exc:  # zip/format errors of a corrupt file
        raise UsageError(flag, path, f"not a readable NPZ file ({type(exc).__name__}: {exc})") from None
    if probe.ndim != 2 or probe.shape[0] != probe.shape[1]:
        raise UsageError(flag, path, f"'{PROBE_KEY}' must be a square 2-D array, got shape {probe.shape}")
    if probe.shape[0] != n:
        raise UsageError(flag, path, f"'{PROBE_KEY}' is {probe.shape[0]}×{probe.shape[1]} but --N is {n}")
    if not np.issubdtype(probe.dtype, np.number):
        raise UsageError(flag, path, f"'{PROBE_KEY}' holds {probe.dtype} values, not numbers")
    if not np.all(np.isfinite(probe)):
        raise UsageError(flag, path, f"'{PROBE_KEY}' holds non-finite values")
    if not np.any(np.abs(probe[probe_support_disk(n, n / 4)]) > 0):
        raise UsageError(flag, path, f"'{PROBE_KEY}' is zero on the central disk of radius N/4, where the forward "
                                     "model normalises it: no light reaches the object")
    with np.errstate(over="ignore"):
        single = probe.astype(np.complex64)
    if not np.all(np.isfinite(single)):
        raise UsageError(flag, path, f"'{PROBE_KEY}' holds values beyond single precision (|P| up to "
                                     f"{np.abs(probe).max():.3g}): rescale it")
    return single


def normalize_probe(probe: np.ndarray) -> np.ndarray:
    """P = P₀ / (4 · mean(|M·P₀|)), M the centred disk of radius n/4."""
    n = probe.shape[0]
    mask = probe_support_disk(n, n / 4.0)
    scale = 4.0 * np.mean(np.abs(probe * mask))
    if not scale > 0:
        raise ValueError("probe is zero inside the central disk of radius N/4; it cannot be normalised")
    return (probe / scale).astype(np.complex64)


SYMMETRY_SEARCH = 2.0   # pixels either way of the array centre, in half-pixel steps
EXACT_TWIN_ASYMMETRY = 1e-3   # |P| this close to point-symmetric (float32 and blur at the edge leave ~1e-4): an exact twin


def reflect_about(array: np.ndarray, shift: tuple[int, int]) -> np.ndarray:
    """array(c − r): the point reflection about the centre (n−1)/2 + shift/2 on each axis (shift in
    half-pixels), wrapping around the edge (a probe is compact, so nothing of it wraps)."""
    return np.roll(array[..., ::-1, ::-1], shift, axis=(-2, -1))


def twin_phrase(asymmetry: float, exact_twin: bool) -> str:
    """What |P|'s symmetry means for the twin image, in words (the dataset summary, verdicts, reports)."""
    if exact_twin:
        return "|P| is point-symmetric: an object with the reflected amplitude fits every pattern exactly"
    return f"|P| is point-asymmetric ({asymmetry:.3f} at its best centre): no exact amplitude twin"


def probe_symmetry(probe: np.ndarray) -> dict:
    """|P|'s point-asymmetry ‖|P(r)| − |P(c − r)|‖ / ‖|P|‖ at the centre c that makes it smallest (searched
    ±2 px about the array centre), that centre, and whether an exact amplitude twin exists."""
    modulus = np.abs(probe).astype(np.float64)
    steps = range(-int(2 * SYMMETRY_SEARCH), int(2 * SYMMETRY_SEARCH) + 1)
    asymmetry, shift = min((float(np.linalg.norm(modulus - reflect_about(modulus, (a, b))) / np.linalg.norm(modulus)),
                            (a, b)) for a in steps for b in steps)
    n = probe.shape[0]
    return {"asymmetry": asymmetry, "shift": list(shift),
            "centre": [(n - 1) / 2 + shift[0] / 2, (n - 1) / 2 + shift[1] / 2],
            "exact_twin": asymmetry < EXACT_TWIN_ASYMMETRY}
