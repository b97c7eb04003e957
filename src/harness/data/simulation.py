"""Simulate the grid-lines ptychography dataset: object → patches → diffraction."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import torch

from ..errors import UsageError
from ..physics import far_field_amplitude, load_probe_npz, make_synthetic_probe, normalize_probe
from ..physics.probe import probe_symmetry
from ..physics.probe_presets import DISK, preset, zone_plate_probe
from .grid_lines import lines_amplitudes, phase_from_amplitude
from .params import GENERATOR_VERSION, DatasetParams, file_digest, patches_per_axis
from .scan import extract_patches, stitched_crop

# Patches per FFT chunk: bounds the transient complex buffers to ~100 MB at N=64.
FFT_CHUNK = 2048


def content_hash(arrays: dict[str, np.ndarray]) -> str:
    """sha256 over every array's name, dtype, shape and bytes, in key order."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{array.dtype.str}|{array.shape}".encode())
        digest.update(array.data)
    return digest.hexdigest()


def resolve_probe(params: DatasetParams) -> tuple[np.ndarray, str | None]:
    """The probe as given (P₀) and, for a file, the digest of its content; a probe the simulation cannot use (no
    light on its central disk, values beyond single precision) is a UsageError naming the preset or the file."""
    if params.probe_npz is None:
        parameters = preset(params.probe_source)
        if parameters["kind"] == DISK:
            probe = make_synthetic_probe(params.N, params.probe_defocus)
        else:
            probe = zone_plate_probe(params.N, parameters)
        digest = None
    else:
        probe, digest = load_probe_npz(params.probe_npz, params.N), file_digest(params.probe_npz)
    _check_usable(probe, params)
    return probe, digest


def _check_usable(probe: np.ndarray, params: DatasetParams) -> None:
    flag, value = ("--probe-npz", params.probe_npz) if params.probe_npz is not None else ("--probe-source",
                                                                                           params.probe_source)
    beyond = UsageError(flag, value, f"gives a probe with values beyond single precision at N={params.N} (overflow "
                                     "or underflow): rescale it")
    if not np.all(np.isfinite(probe)):
        raise beyond
    with np.errstate(all="ignore"):
        try:
            normalised = normalize_probe(probe)
        except ValueError as exc:
            raise UsageError(flag, value, f"gives a probe the simulation cannot use at N={params.N}: {exc}") from None
    if not np.all(np.isfinite(normalised)):
        raise beyond


def photon_scale(amplitude: np.ndarray, probe_modulus: np.ndarray, nphotons: float) -> float:
    """s such that the patches' exit waves s·Y·|P| carry `nphotons` photons on average."""
    mean_energy = float(np.mean(np.sum((amplitude.astype(np.float64) * probe_modulus) ** 2, axis=(1, 2))))
    return float(np.sqrt(nphotons / mean_energy))


def diffraction_amplitude(
    amplitude: np.ndarray, phase: np.ndarray, probe: np.ndarray, scale: float, rng: np.random.Generator
) -> np.ndarray:
    """X = sqrt(Poisson(a²)) / s with a = fftshift(|FFT2(s·Y·e^{iφ}·P)|)/N, chunked over patches."""
    probe_t = torch.from_numpy(probe)
    out = np.empty(amplitude.shape, dtype=np.float32)
    for start in range(0, amplitude.shape[0], FFT_CHUNK):
        stop = start + FFT_CHUNK
        object_patch = torch.polar(torch.from_numpy(amplitude[start:stop]), torch.from_numpy(phase[start:stop]))
        far_field = far_field_amplitude(scale * object_patch * probe_t).numpy().astype(np.float64)
        counts = rng.poisson(far_field**2)
        out[start:stop] = (np.sqrt(counts) / scale).astype(np.float32)
    return out


def _split_arrays(params: DatasetParams, nimgs: int, stride: int, seed: int) -> dict:
    """Object canvases, phase and normalised patch amplitudes of one split (no diffraction yet)."""
    object_rng, noise_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    amplitude = lines_amplitudes(nimgs, params.object_size, params.n_lines, object_rng)
    phase = phase_from_amplitude(amplitude) if params.set_phi else np.zeros_like(amplitude)
    amp_patches = extract_patches(amplitude.astype(np.float32), params.N, stride)
    phase_patches = extract_patches(phase.astype(np.float32), params.N, stride)
    norm_y_i = float(amp_patches.max(axis=(1, 2)).mean())
    return {
        "canvas": amplitude,
        "phase": phase,
        "Y": amp_patches / np.float32(norm_y_i),
        "phi": phase_patches,
        "norm_Y_I": norm_y_i,
        "noise_rng": noise_rng,
    }


def simulate(params: DatasetParams) -> dict[str, dict[str, np.ndarray]]:
    """Both splits as dicts of NPZ-ready arrays (the keys of the original study's files), with `metadata` JSON."""
    params.validate()
    probe_raw, probe_digest = resolve_probe(params)
    probe = normalize_probe(probe_raw)
    probe_modulus = np.abs(probe)
    symmetry = probe_symmetry(probe)  # whether an exact amplitude twin exists, and about which centre

    train = _split_arrays(params, params.nimgs_train, params.train_stride, params.train_seed)
    test = _split_arrays(params, params.nimgs_test, params.test_stride, params.test_seed)
    scale = photon_scale(train["Y"], probe_modulus, params.nphotons)  # from the training split; the test reuses it

    splits = {}
    for name, split, stride in (("train", train, params.train_stride), ("test", test, params.test_stride)):
        arrays = {
            "diffraction": diffraction_amplitude(split["Y"], split["phi"], probe, scale, split["noise_rng"])[..., None],
            "Y_I": (split["Y"] * probe_modulus)[..., None].astype(np.float32),
            "Y_phi": split["phi"][..., None].astype(np.float32),
            "probeGuess": probe_raw.astype(np.complex64),
            "YY_full": (split["canvas"] * np.exp(1j * split["phase"]))[..., None].astype(np.complex64),
            "norm_Y_I": np.float64(split["norm_Y_I"]),
            "intensity_scale": np.float64(scale),
        }
        if name == "test":
            positions = patches_per_axis(params.object_size, params.N, stride)
            crop = stitched_crop(params.N, stride, positions)
            arrays["YY_ground_truth"] = arrays["YY_full"][:, crop, crop]
        metadata = {
            "split": name,
            "params": params.as_dict(),
            "probe_digest": probe_digest,
            "probe_symmetry": symmetry,
            "generator_version": GENERATOR_VERSION,
            "cache_key": params.cache_key(probe_digest),
            "n_patches": int(arrays["diffraction"].shape[0]),
            "content_hash": content_hash(arrays),
        }
        arrays["metadata"] = np.array(json.dumps(metadata, sort_keys=True))
        splits[name] = arrays
    return splits
