"""A measured ptychography dataset in the field's NPZ file (the format PtychoPINN reads and ptychodus exports): read,
normalised to one layout, checked, and what its values are (amplitudes, or photon counts); and our simulated
data written in the same format.

The format, as the files in use hold it: `diff3d` (or its alias `diffraction`) the diffraction patterns, (M, N, N)
float32 amplitudes (√intensity) — some files hold raw uint16 counts, or the legacy (N, N, M) layout, or a trailing
channel of 1; `probeGuess` (N, N) complex (also (N, N, 1), or (P, N, N) with P probe modes); `xcoords`, `ycoords`
(M,) scan positions in pixels; optional `scan_index` (M,), `objectGuess` (a reconstruction by another method, not
ground truth) and `Y` (M, N, N) complex object patches.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import UsageError
from ..fsutil import atomic_save, content_digest
from .params import patches_per_axis

DIFFRACTION_KEYS = ("diff3d", "diffraction")
# Values this close to whole numbers (relative to the unit) count as whole: float32 holds √k to 6e-8 relative,
# so (√k)² is whole to 1e-3 for k below 1,000 — the pixels the lattice test reads.
WHOLE_TOLERANCE = 1e-3
LATTICE_LIMIT = 1000
LATTICE_SHARE = 0.99       # of the low pixels on the lattice, for the values to be called counts
NON_SQUARE_MINIMUM = 20    # low pixels with a non-square count needed to tell counts from their square roots


@dataclass(frozen=True)
class MeasurementDomain:
    """What a file's diffraction values are, and what that tells of the photons.

    kind: "counts" (photon counts, or whole multiples of one value: intensities), "amplitude_of_counts" (√counts / s
    for one scale s: the simulation's convention, so the photons are known), or "amplitude" (values that are
    neither; read as amplitudes, as the format defines them, photons unknown). `photon_scale` s: √values × s = √counts
    for counts, values × s = √counts for amplitudes of counts.
    """

    kind: str
    photon_scale: float | None
    how: str


@dataclass(frozen=True)
class MeasuredDataset:
    """A ptychography NPZ file normalised: amplitudes (M, N, N) float32 as the forward model predicts them (up to
    the photon scale), the probe's first mode, positions in pixels."""

    path: str
    digest: str                       # of the file's bytes: part of the cache key and the run hash
    diffraction: np.ndarray = field(repr=False)
    probe: np.ndarray = field(repr=False)
    xcoords: np.ndarray = field(repr=False)
    ycoords: np.ndarray = field(repr=False)
    domain: MeasurementDomain
    stored: str                       # the key, dtype and layout found, in words
    notes: tuple[str, ...] = ()      # what was normalised, each said once
    scan_index: np.ndarray | None = field(default=None, repr=False)
    object_guess: np.ndarray | None = field(default=None, repr=False)
    patches: np.ndarray | None = field(default=None, repr=False)

    @property
    def n_patterns(self) -> int:
        return int(self.diffraction.shape[0])

    @property
    def N(self) -> int:
        return int(self.diffraction.shape[1])

    def photons_per_pattern(self) -> np.ndarray | None:
        """Each pattern's total photon count, where the values say it (counts, or amplitudes of counts)."""
        if (scale := self.domain.photon_scale) is None:
            return None
        return np.sum((self.diffraction.astype(np.float64) * scale) ** 2, axis=(1, 2))


def read_ptycho_npz(path: str | Path, flag: str = "--data-npz") -> MeasuredDataset:
    """The file read and normalised; anything that is not a ptychography NPZ is one UsageError naming `flag`, the
    file and the key at fault, and what was expected."""
    path = Path(path)

    def refuse(reason: str) -> UsageError:
        return UsageError(flag, str(path), reason)

    if not path.is_file():
        raise refuse("file not found")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise refuse(f"not a readable NPZ file ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})") from None
    xcoords, ycoords = (_positions(arrays, key, refuse) for key in ("xcoords", "ycoords"))
    if xcoords.shape != ycoords.shape:
        raise refuse(f"key 'ycoords' has {ycoords.shape[0]} positions, 'xcoords' {xcoords.shape[0]}: one each per pattern")
    notes: list[str] = []
    raw, key = _diffraction(arrays, refuse)
    diffraction, layout = _canonical_layout(raw, key, xcoords.shape[0], refuse, notes)
    domain = measurement_domain(diffraction, key, refuse)
    amplitude = np.sqrt(diffraction.astype(np.float64)) if domain.kind == "counts" else diffraction
    if domain.kind == "counts":
        notes.append(f"'{key}' holds intensities: the amplitudes are their square roots")
    probe = _probe(arrays, diffraction.shape[1], refuse, notes)
    return MeasuredDataset(
        path=str(path), digest=content_digest(path), diffraction=np.ascontiguousarray(amplitude, dtype=np.float32),
        probe=probe, xcoords=xcoords, ycoords=ycoords, domain=domain,
        stored=f"'{key}' {raw.dtype} {layout}", notes=tuple(notes),
        scan_index=_optional(arrays, "scan_index", (xcoords.shape[0],), refuse),
        object_guess=_object_guess(arrays, refuse),
        patches=_patches(arrays, diffraction.shape, refuse),
    )


def _positions(arrays: dict, key: str, refuse) -> np.ndarray:
    if key not in arrays:
        raise refuse(f"no key '{key}': expected the scan positions in pixels, one per pattern (M,)")
    values = np.asarray(arrays[key])
    if values.ndim != 1 or not np.issubdtype(values.dtype, np.number) or np.iscomplexobj(values):
        raise refuse(f"key '{key}' is {values.dtype} of shape {values.shape}: expected real positions (M,)")
    if not np.all(np.isfinite(values)):
        raise refuse(f"key '{key}' holds non-finite positions")
    return values.astype(np.float64)


def _diffraction(arrays: dict, refuse) -> tuple[np.ndarray, str]:
    present = [key for key in DIFFRACTION_KEYS if key in arrays]
    if not present:
        raise refuse(f"no diffraction patterns: expected key 'diff3d' or 'diffraction' (M, N, N) (keys found: "
                     f"{', '.join(sorted(arrays)) or 'none'})")
    if len(present) == 2 and not np.array_equal(arrays["diff3d"], arrays["diffraction"]):
        raise refuse("keys 'diff3d' and 'diffraction' both present and different: expected one stack of patterns")
    key = present[0]
    values = np.asarray(arrays[key])
    if not (np.issubdtype(values.dtype, np.integer) or np.issubdtype(values.dtype, np.floating)):
        raise refuse(f"key '{key}' is {values.dtype}: expected real diffraction amplitudes or counts")
    return values, key


def _canonical_layout(values: np.ndarray, key: str, n_positions: int, refuse, notes: list[str]) -> tuple[np.ndarray, str]:
    """(M, N, N), from (M, N, N), the legacy (N, N, M), or either with a trailing channel of 1; the positions'
    count M tells the layouts apart."""
    if values.ndim == 4 and values.shape[-1] == 1:
        values = values[..., 0]
    if values.ndim != 3:
        raise refuse(f"key '{key}' has shape {values.shape}: expected (M, N, N) patterns")
    if values.shape[0] == n_positions and values.shape[1] == values.shape[2]:
        return values, "(M, N, N)"
    if values.shape[2] == n_positions and values.shape[0] == values.shape[1]:
        notes.append(f"'{key}' is in the legacy (N, N, M) layout: read as (M, N, N)")
        return np.moveaxis(values, 2, 0), "(N, N, M)"
    raise refuse(f"key '{key}' has shape {values.shape}: expected (M, N, N) square patterns with M = {n_positions}, "
                 "the number of positions")


def measurement_domain(values: np.ndarray, key: str = "diffraction", refuse=None) -> MeasurementDomain:
    """What the values are. Integers are photon counts. Floats are tested against the two lattices of counted
    data, using the smallest non-zero value u as the unit (one photon): whole multiples of u are (scaled) counts;
    values whose squares are whole multiples of u² are amplitudes √k·u, the simulation's and the format's
    convention, which gives the photon scale 1/u. Data that are neither (a background subtracted, a float
    pipeline) are read as amplitudes, as the format defines them, with photons unknown."""
    refuse = refuse or (lambda reason: UsageError(key, "", reason))
    finite = np.isfinite(values) if np.issubdtype(values.dtype, np.floating) else np.ones(values.shape, bool)
    if not np.all(finite):
        raise refuse(f"key '{key}' holds {int(np.size(values) - np.count_nonzero(finite))} non-finite values")
    if np.any(values < 0):
        raise refuse(f"key '{key}' holds negative values (smallest {float(values.min()):.4g}): expected amplitudes "
                     "or counts, which are never negative")
    if np.issubdtype(values.dtype, np.integer):
        return MeasurementDomain("counts", 1.0, f"{values.dtype} values: whole photon counts")
    positive = values[values > 0].astype(np.float64)
    if positive.size == 0:
        raise refuse(f"key '{key}' is zero everywhere: no photon was measured")
    unit = float(positive.min())
    multiples = positive / unit
    low = multiples[multiples < LATTICE_LIMIT]
    low_squares = multiples[multiples**2 < LATTICE_LIMIT] ** 2
    if _on_lattice(low) and _has_non_squares(low):
        if unit == 1.0:
            return MeasurementDomain("counts", 1.0, "whole numbers stored as floats: photon counts")
        return MeasurementDomain("counts", 1.0 / np.sqrt(unit), f"whole multiples of {unit:.6g} (taken as one "
                                 "photon): scaled photon counts, intensities")
    if _on_lattice(low_squares) and _has_non_squares(low_squares):
        return MeasurementDomain("amplitude_of_counts", 1.0 / unit, f"amplitudes √k·{unit:.6g} of whole counts k: "
                                 f"photon scale {1.0 / unit:.6g} from the smallest non-zero value (one photon)")
    return MeasurementDomain("amplitude", None, "neither whole counts nor amplitudes of whole counts: read as "
                             "amplitudes, as the format defines them; photons unknown")


def _on_lattice(multiples: np.ndarray) -> bool:
    return multiples.size > 0 and float(np.mean(np.abs(multiples - np.round(multiples)) < WHOLE_TOLERANCE)) >= LATTICE_SHARE


def _has_non_squares(multiples: np.ndarray) -> bool:
    """Enough whole values that are not perfect squares: only they tell counts k from amplitudes √k."""
    whole = np.round(multiples)
    return int(np.count_nonzero(np.round(np.sqrt(whole)) ** 2 != whole)) >= NON_SQUARE_MINIMUM


def _probe(arrays: dict, n: int, refuse, notes: list[str]) -> np.ndarray:
    if "probeGuess" not in arrays:
        raise refuse(f"no key 'probeGuess': expected the complex probe ({n}, {n})")
    probe = np.asarray(arrays["probeGuess"])
    if probe.ndim == 3 and probe.shape[-1] == 1 and probe.shape[0] == probe.shape[1]:
        probe = probe[..., 0]
    elif probe.ndim == 3 and probe.shape[1:] == (n, n):
        if probe.shape[0] > 1:
            notes.append(f"'probeGuess' holds {probe.shape[0]} probe modes: the first is used")
        probe = probe[0]
    if probe.shape != (n, n):
        raise refuse(f"key 'probeGuess' has shape {np.asarray(arrays['probeGuess']).shape}: expected ({n}, {n}) like "
                     "the patterns (or (P, N, N) probe modes)")
    if not np.issubdtype(probe.dtype, np.number) or not np.all(np.isfinite(probe)) or not np.any(probe != 0):
        raise refuse("key 'probeGuess' is not a finite, non-zero complex probe")
    return probe.astype(np.complex64)


def _optional(arrays: dict, key: str, shape: tuple, refuse) -> np.ndarray | None:
    if key not in arrays:
        return None
    value = np.asarray(arrays[key])
    if value.shape != shape:
        raise refuse(f"key '{key}' has shape {value.shape}: expected {shape}, one per pattern")
    return value


def _object_guess(arrays: dict, refuse) -> np.ndarray | None:
    if "objectGuess" not in arrays:
        return None
    guess = np.asarray(arrays["objectGuess"])
    guess = guess[..., 0] if guess.ndim == 3 and guess.shape[-1] == 1 else guess
    if guess.ndim != 2 or not np.all(np.isfinite(guess)):
        raise refuse(f"key 'objectGuess' has shape {guess.shape}: expected a finite 2-D complex object")
    return guess.astype(np.complex64)


def _patches(arrays: dict, shape: tuple, refuse) -> np.ndarray | None:
    if "Y" not in arrays:
        return None
    patches = np.asarray(arrays["Y"])
    patches = patches[..., 0] if patches.ndim == 4 and patches.shape[-1] == 1 else patches
    if patches.shape != shape:
        raise refuse(f"key 'Y' has shape {patches.shape}: expected {shape}, one object patch per pattern")
    return patches.astype(np.complex64)


def write_ptycho_npz(path: str | Path, diffraction: np.ndarray, probe: np.ndarray, xcoords: np.ndarray,
                     ycoords: np.ndarray, **optional: np.ndarray) -> None:
    """A dataset in the format read above (`diff3d` amplitudes (M, N, N) float32, `probeGuess`, positions), with
    any optional keys (`objectGuess`, `Y`, `scan_index`)."""
    arrays: dict[str, np.ndarray] = {
        "diff3d": np.asarray(diffraction, dtype=np.float32), "probeGuess": np.asarray(probe, dtype=np.complex64),
        "xcoords": np.asarray(xcoords, dtype=np.float64), "ycoords": np.asarray(ycoords, dtype=np.float64), **optional}
    atomic_save(path, lambda temporary: np.savez(temporary, **arrays))  # type: ignore[arg-type]


def raster_centres(size: int, patch: int, stride: int, nimgs: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The centres (x, y) in pixels of a raster's patches, row-major per canvas, as `extract_patches` cuts them."""
    count = patches_per_axis(size, patch, stride)
    rows, cols = np.meshgrid(np.arange(count) * stride, np.arange(count) * stride, indexing="ij")
    x = np.tile(cols.ravel() + patch / 2, nimgs)
    y = np.tile(rows.ravel() + patch / 2, nimgs)
    return x.astype(np.float64), y.astype(np.float64)


def simulated_as_ptycho_npz(dataset, split: str) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """One split ("train" or "test") of our simulated dataset as the field's file (the arrays `write_ptycho_npz`
    takes: the measured amplitudes, the probe the forward model used, the raster's centres, the scan index) and,
    kept aside, the true object patches (M, N, N) complex — what a file of measured data never holds."""
    from ..physics.probe import normalize_probe
    from .scan import extract_patches

    params, arrays = dataset.params, getattr(dataset, split)
    stride = params.train_stride if split == "train" else params.test_stride
    canvas = arrays["YY_full"][..., 0]
    x, y = raster_centres(canvas.shape[1], params.N, stride, canvas.shape[0])
    truth = (extract_patches(np.abs(canvas).astype(np.float32), params.N, stride) / np.float32(arrays["norm_Y_I"])
             * np.exp(1j * extract_patches(np.angle(canvas).astype(np.float32), params.N, stride)))
    field_arrays = {"diffraction": arrays["diffraction"][..., 0], "probe": normalize_probe(arrays["probeGuess"]),
                    "xcoords": x, "ycoords": y, "scan_index": np.arange(x.size)}
    return field_arrays, truth.astype(np.complex64)
