"""A measured dataset file as the cached splits a run trains on: the patterns in the forward model's units, the
file's probe, the positions, and the test split (a second file, or a held-out scan region).

The forward model predicts |F(O·P)|/N for an object O of transmission about one under the normalised probe P. A
file whose values are amplitudes of counts (√counts / s: the convention of PtychoPINN's files and ours) is already
in those units and is used as it is. Counts, and amplitudes of no known photon scale, are divided by the one
scale that lets an object of unit transmission carry the patterns' mean energy: Σ|F(P)|²/N² = Σ|P|² (Parseval),
so s = √(mean over patterns of ΣA² / Σ|P|²). Where the values are counts the photons stay known: √counts = X·s.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import UsageError
from ..physics.probe import normalize_probe, probe_symmetry
from .params import MEASURED_VERSION, DatasetParams
from .ptycho_npz import MeasuredDataset, read_ptycho_npz
from .simulation import content_hash


def read_measured(path: str, flag: str = "--data-npz") -> MeasuredDataset:
    """The file read once per (path, inode, modification time, size) in a process: every configuration of a study
    reads its N, and the cache its patterns."""
    stat = Path(path).stat() if Path(path).is_file() else None
    return _read(str(Path(path).resolve()) if stat else path, flag,
                 (stat.st_ino, stat.st_mtime_ns, stat.st_size) if stat else None)


@lru_cache(maxsize=4)
def _read(path: str, flag: str, version: tuple | None) -> MeasuredDataset:
    data = read_ptycho_npz(path, flag)
    if data.N < 8 or data.N % 2:
        raise UsageError(flag, path, f"holds patterns of {data.N}×{data.N}: the models need an even size of at least 8")
    return data


def patch_size(params: DatasetParams) -> int:
    """N of a measured dataset: its file's, which a test file must share."""
    assert params.data_npz is not None
    n = read_measured(params.data_npz).N
    if params.test_data_npz is not None and (test_n := read_measured(params.test_data_npz, "--test-data-npz").N) != n:
        raise UsageError("--test-data-npz", params.test_data_npz,
                         f"holds patterns of {test_n}×{test_n}, --data-npz {n}×{n}: one detector size for both")
    return n


def check_measured(params: DatasetParams) -> None:
    """UsageError for files that are no dataset, or a patch size that is not theirs: before the cache is touched."""
    if params.N != (n := patch_size(params)):
        raise UsageError("--N", params.N, f"differs from the {n}×{n} patterns of --data-npz {params.data_npz}")


def held_out_region(xcoords: np.ndarray, fraction: float) -> np.ndarray:
    """The test positions: those of the last `fraction` of the scan in x, a region of its own (a random subset
    would test on object the training saw from the next position)."""
    threshold = np.quantile(xcoords, 1 - fraction)
    test = xcoords > threshold
    if not test.any():
        test = xcoords >= threshold
    return test


def amplitude_scale(data: MeasuredDataset, probe: np.ndarray) -> tuple[float, str]:
    """s such that X = values / s is in the forward model's units, and how it was chosen (see the module)."""
    if data.domain.kind == "amplitude_of_counts":
        return 1.0, "amplitudes of counts: used as they are"
    energy = float(np.mean(np.sum(data.diffraction.astype(np.float64) ** 2, axis=(1, 2))))
    scale = float(np.sqrt(energy / np.sum(np.abs(probe.astype(np.complex128)) ** 2)))
    return scale, (f"divided by {scale:.6g}, the scale at which an object of unit transmission carries the patterns' "
                   "mean energy")


def measured_splits(params: DatasetParams) -> dict[str, dict[str, np.ndarray]]:
    """Both splits as NPZ-ready arrays, with the keys the training reads (`diffraction` (M, N, N, 1), `probeGuess`)
    and the positions, the photon scale (nan when unknown) and `metadata`."""
    assert params.data_npz is not None
    train_file = read_measured(params.data_npz)
    probe = normalize_probe(train_file.probe)
    scale, how = amplitude_scale(train_file, probe)
    if params.test_data_npz is not None:
        test_file = read_measured(params.test_data_npz, "--test-data-npz")
        parts = {"train": (train_file, np.ones(train_file.n_patterns, bool)),
                 "test": (test_file, np.ones(test_file.n_patterns, bool))}
    else:
        test = held_out_region(train_file.xcoords, params.test_fraction)
        if test.all() or not test.any():
            raise UsageError("--test-fraction", params.test_fraction,
                             f"leaves no training or no test position among the {train_file.n_patterns} of --data-npz")
        parts = {"train": (train_file, ~test), "test": (train_file, test)}
    splits = {}
    for name, (data, chosen) in parts.items():
        photons = np.nan if data.domain.photon_scale is None else data.domain.photon_scale * scale
        arrays: dict[str, np.ndarray] = {
            "diffraction": (data.diffraction[chosen] / np.float32(scale))[..., None].astype(np.float32),
            "probeGuess": train_file.probe.astype(np.complex64),
            "xcoords": data.xcoords[chosen], "ycoords": data.ycoords[chosen],
            "photon_scale": np.asarray(photons, dtype=np.float64),
        }
        if name == "test" and data.object_guess is not None:
            arrays["object_guess"] = data.object_guess
        metadata = {
            "split": name, "measured": True, "file": data.path, "file_digest": data.digest,
            "values": data.domain.how, "scale": how, "notes": list(data.notes),
            "probe_symmetry": probe_symmetry(probe), "generator_version": MEASURED_VERSION,
            "cache_key": params.cache_key(), "n_patches": int(chosen.sum()), "content_hash": content_hash(arrays),
        }
        arrays["metadata"] = np.array(json.dumps(metadata, sort_keys=True))
        splits[name] = arrays
    return splits
