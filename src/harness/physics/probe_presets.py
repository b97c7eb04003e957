"""Probe presets as data (fixtures/probes.toml): today's blurred disk and a Fresnel zone plate's probe.

`disk` (alias `ideal_disk`, the original harness's name) is the synthetic disk of `make_synthetic_probe`:
real and point-symmetric, so a patch and its twin image fit the same pattern exactly. A `zone_plate`
preset is the far field of a zone plate's first-order pupil — an annulus (outer radius `pupil-radius`
pixels of the N×N Fourier grid, central stop `stop` of it) with a soft edge (`edge`, a Gaussian σ in
pixels), aberrations in radians at the pupil edge (defocus ρ², astigmatism ρ²cos 2(θ−θa), coma
(3ρ³ − 2ρ)cos(θ−θc)) and an illumination tilt across the pupil (amplitude 1 + t·ρ·cos(θ−θt)) — then
prepared as the original study prepared its measured probe: |P| kept, the phase replaced by its
least-squares fit a·r² + b, and a Gaussian σ = 0.5 on the modulus and on that phase. Coma and the tilt
make |P| point-asymmetric, which removes the exact twin.
"""

from __future__ import annotations

import math
import tomllib
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter

from ..errors import UsageError
from ..fixtures import fixtures_dir

DISK = "disk"
ALIASES = {"ideal_disk": DISK}
PREPARATION_SIGMA = 0.5
ZONE_PLATE_KEYS = {   # key → default (the shipped fzp preset's values are in fixtures/probes.toml)
    "pupil-radius": 9.0, "stop": 0.4, "defocus": 4.0, "astigmatism": 0.0, "astigmatism-angle": 0.0,
    "coma": 0.0, "coma-angle": 0.0, "tilt": 0.0, "tilt-angle": 0.0, "edge": 1.0,
}
RANGES = {"pupil-radius": (1.0, 1e4), "stop": (0.0, 0.95), "edge": (0.0, 100.0), "tilt": (0.0, 0.99)}


def probes_file() -> Path:
    return fixtures_dir() / "probes.toml"


def _presets(path: Path) -> dict[str, dict]:
    """The file's presets, checked; read every time (it is small), parsed once per content."""
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise UsageError(str(path), "", f"cannot be read ({exc.strerror or exc})") from None
    return _parsed(str(path), content)


@lru_cache(maxsize=None)
def _parsed(path: str, content: bytes) -> dict[str, dict]:
    try:
        table = tomllib.loads(content.decode())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(path, "", f"is not valid TOML ({exc})") from None
    for name, preset in table.items():
        where = f"{path} [{name}]"
        if name in ALIASES:
            raise UsageError(where, "", f"is the built-in {ALIASES[name]} probe's other name: choose another name")
        if name == DISK and (not isinstance(preset, dict) or preset != {"kind": DISK}):
            raise UsageError(where, repr(preset), "is the built-in synthetic disk: its table can only say "
                                                  "kind = \"disk\"; give another preset its own name")
        if not isinstance(preset, dict) or preset.get("kind") not in ("disk", "zone_plate"):
            raise UsageError(f"{where} kind", repr(preset.get("kind") if isinstance(preset, dict) else preset),
                             "must be \"disk\" or \"zone_plate\"")
        known = ZONE_PLATE_KEYS if preset["kind"] == "zone_plate" else {}
        for key, value in preset.items():
            if key == "kind":
                continue
            if key not in known:
                raise UsageError(f"{where} {key}", repr(value), f"unknown key (known: {', '.join(known) or 'none'})")
            low, high = RANGES.get(key, (-1e3, 1e3))
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or not low <= value <= high:
                raise UsageError(f"{where} {key}", repr(value), f"must be a finite number within [{low:g}, {high:g}]")
    return table


def preset_names() -> list[str]:
    names = [DISK, *ALIASES]
    if probes_file().is_file():
        names += [name for name in _presets(probes_file()) if name not in names]
    return names


def preset(name: str) -> dict:
    """The preset's parameters (its kind and every key, defaults filled in); UsageError naming
    --probe-source for an unknown name."""
    name = ALIASES.get(name, name)
    if name == DISK:
        return {"kind": DISK}
    path = probes_file()
    found = _presets(path).get(name) if path.is_file() else None
    if found is None:
        where = f"add one to {path}" if path.is_file() else f"{path}, which would define it, does not exist"
        raise UsageError("--probe-source", name, f"unknown probe (known: {', '.join(preset_names())}; {where})")
    if found["kind"] == DISK:
        return {"kind": DISK}
    return {"kind": "zone_plate", **ZONE_PLATE_KEYS, **{k: float(v) for k, v in found.items() if k != "kind"}}


def zone_plate_probe(n: int, parameters: dict) -> np.ndarray:
    """The prepared zone-plate probe (complex64, n×n, centred at pixel n/2)."""
    k = np.arange(n) - n // 2
    ky, kx = np.meshgrid(k, k, indexing="ij")
    radius = parameters["pupil-radius"]
    rho = np.hypot(kx, ky) / radius
    theta = np.arctan2(ky, kx)
    annulus = ((rho <= 1.0) & (rho >= parameters["stop"])).astype(np.float64)
    if parameters["edge"] > 0:
        annulus = gaussian_filter(annulus, parameters["edge"])
    illumination = np.clip(1 + parameters["tilt"] * rho * np.cos(theta - parameters["tilt-angle"]), 0, None)
    phase = (parameters["defocus"] * rho**2
             + parameters["astigmatism"] * rho**2 * np.cos(2 * (theta - parameters["astigmatism-angle"]))
             + parameters["coma"] * (3 * rho**3 - 2 * rho) * np.cos(theta - parameters["coma-angle"]))
    pupil = annulus * illumination * np.exp(1j * phase)
    probe = np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(pupil)))
    return prepare_as_measured(probe)


def prepare_as_measured(probe: np.ndarray) -> np.ndarray:
    """|P| kept, the phase replaced by its least-squares a·r² + b (weighted by |P|², unwrapped along the rows
    from the centre), then a Gaussian σ = 0.5 on the modulus and on that phase."""
    n = probe.shape[0]
    modulus = np.abs(probe)
    k = np.arange(n) - n // 2
    r2 = k[:, None] ** 2 + k[None, :] ** 2
    centre = probe[n // 2, n // 2]
    relative = np.angle(probe * np.conj(centre) / max(abs(centre), 1e-30))
    unwrapped = np.unwrap(np.unwrap(relative, axis=1), axis=0)
    weight = modulus.ravel() ** 2
    design = np.stack([r2.ravel(), np.ones(n * n)], axis=1) * np.sqrt(weight)[:, None]
    (a, b), *_ = np.linalg.lstsq(design, unwrapped.ravel() * np.sqrt(weight), rcond=None)
    smooth_phase = gaussian_filter(a * r2 + b, PREPARATION_SIGMA)
    return (gaussian_filter(modulus, PREPARATION_SIGMA) * np.exp(1j * smooth_phase)).astype(np.complex64)
