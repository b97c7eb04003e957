"""The parameters that define a simulated dataset, and its cache key."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import UsageError
from ..fsutil import content_digest

# Bump when the simulation changes what it produces for the same parameters: old cache entries
# then get a new key and are never mistaken for current data.
GENERATOR_VERSION = "grid-lines-1"
MEASURED_VERSION = "ptycho-npz-1"     # the same for how a measured file becomes the cached splits (data/measured.py)
# Parameters added later, with the default that reproduces the data generated before they existed.
ADDED_LATER = {"probe_defocus": 0.0, "probe_source": "disk", "data_npz": None, "test_data_npz": None,
               "test_fraction": 0.2}


def patches_per_axis(size: int, patch: int, stride: int) -> int:
    """Raster positions along one axis: ⌊(size − patch) / stride⌋ + 1."""
    return (size - patch) // stride + 1


@dataclass(frozen=True)
class DatasetParams:
    """Grid-lines simulation settings. Defaults are the paper protocol."""

    N: int = 64
    gridsize: int = 1
    set_phi: bool = True
    nimgs_train: int = 1
    nimgs_test: int = 1
    nphotons: float = 1e9
    probe_npz: str | None = None
    object_size: int = 392
    n_lines: int = 400
    train_stride: int = 4
    test_stride: int = 10
    train_seed: int = 1
    test_seed: int = 2
    probe_defocus: float = 0.0        # defocus phase of the synthetic probe, radians at the disk edge
    # A probe preset of fixtures/probes.toml (physics/probe_presets.py). The zone plate's |P| is
    # point-asymmetric, so the twin image does not fit the data exactly; `disk` has an exact twin.
    probe_source: str = "fzp"
    # A measured dataset (PtychoPINN's NPZ: data/ptycho_npz.py) instead of the simulation: its patterns, probe and
    # positions; the test split is a second file, else the scan region of the last `test_fraction` of positions in x.
    data_npz: str | None = None
    test_data_npz: str | None = None
    test_fraction: float = 0.2

    @property
    def measured(self) -> bool:
        return self.data_npz is not None

    def validate(self) -> None:
        """Raise UsageError (naming the flag) for settings the simulation cannot honour."""
        if self.N < 8 or self.N % 2:
            raise UsageError("--N", self.N, "must be an even patch size of at least 8")
        if self.test_data_npz is not None and self.data_npz is None:
            raise UsageError("--test-data-npz", self.test_data_npz, "is the test split of --data-npz: give that too")
        if not 0 < self.test_fraction < 1:
            raise UsageError("--test-fraction", self.test_fraction, "must be a share of the positions between 0 and 1")
        if self.gridsize != 1:
            raise UsageError("--gridsize", self.gridsize, "only gridsize 1 is supported")
        if self.object_size < self.N:
            raise UsageError("--N", self.N, f"larger than the object ({self.object_size} px)")
        for flag, value in (("--nimgs-train", self.nimgs_train), ("--nimgs-test", self.nimgs_test)):
            if value < 1:
                raise UsageError(flag, value, "must be at least 1")
        if not self.nphotons > 0 or self.nphotons != self.nphotons or self.nphotons == float("inf"):
            raise UsageError("--nphotons", self.nphotons, "must be a positive finite photon count")
        if self.train_stride < 1:
            raise UsageError("--train-stride", self.train_stride, "must be at least 1")
        if not 1 <= self.test_stride <= self.N or (self.N - self.test_stride) % 2:
            raise UsageError(
                "--test-stride", self.test_stride,
                f"must be at most --N {self.N} and differ from it by an even number (central tiles)",
            )
        if self.n_lines < 1:
            raise UsageError("n_lines", self.n_lines, "must be at least 1")
        if not abs(self.probe_defocus) < float("inf"):
            raise UsageError("--probe-defocus", self.probe_defocus, "must be a finite phase in radians")
        if self.probe_defocus and self.probe_npz is not None:
            raise UsageError("--probe-defocus", self.probe_defocus, "applies to the synthetic probe, not to --probe-npz")
        from ..physics.probe_presets import DISK, preset

        kind = preset(self.probe_source)["kind"]
        if self.probe_npz is not None and kind != DISK:
            raise UsageError("--probe-source", self.probe_source, "and --probe-npz both name a probe: give one")
        if self.probe_defocus and kind != DISK:
            raise UsageError("--probe-defocus", self.probe_defocus,
                             f"applies to the disk probe (--probe-source disk); the {self.probe_source} preset sets its "
                             "own defocus")

    @property
    def probe_label(self) -> str:
        return probe_label(self.as_dict())

    def probe_description(self) -> dict:
        """The probe in config.json: the preset and its parameters, or the file."""
        if self.data_npz is not None:
            return {"file": self.data_npz, "key": "probeGuess"}
        if self.probe_npz is not None:
            return {"file": self.probe_npz}
        from ..physics.probe_presets import preset

        return {"source": self.probe_source, "parameters": preset(self.probe_source),
                **({"defocus": self.probe_defocus} if self.probe_defocus else {})}

    @property
    def n_train_patches(self) -> int:
        return self.nimgs_train * patches_per_axis(self.object_size, self.N, self.train_stride) ** 2

    @property
    def n_test_patches(self) -> int:
        return self.nimgs_test * patches_per_axis(self.object_size, self.N, self.test_stride) ** 2

    def as_dict(self) -> dict:
        return asdict(self)

    def identity(self) -> dict:
        """Every parameter, except settings added after the first release while they hold their default
        (which reproduces the data of before): cache keys and run hashes of earlier runs stay valid."""
        if self.measured:   # the file's content is the data: the simulation's settings do not apply
            return {"N": self.N, "data_npz": probe_file_identity(str(self.data_npz)),
                    "test_data_npz": None if self.test_data_npz is None else probe_file_identity(self.test_data_npz),
                    "test_fraction": None if self.test_data_npz is not None else self.test_fraction}
        identity = {key: value for key, value in self.as_dict().items()
                    if not (key in ADDED_LATER and value == ADDED_LATER[key])}
        if "probe_source" in identity:  # a preset enters with its parameters: editing them changes the key
            from ..physics.probe_presets import preset

            identity["probe_parameters"] = preset(self.probe_source)
        return identity

    def cache_key(self, probe_digest: str | None = None) -> str:
        """A key derived from every parameter and the generator version.

        A probe file enters through the digest of its content, not its path.
        """
        identity = self.identity()
        if not self.measured:
            identity["probe_npz"] = probe_digest
        identity["generator_version"] = MEASURED_VERSION if self.measured else GENERATOR_VERSION
        blob = json.dumps(identity, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:20]


def probe_label(data: dict) -> str:
    """The probe of a config.json's `data`: the preset's name, or `file NAME` for a probe file. Folders
    written before presets existed used the disk."""
    if data.get("data_npz"):
        return f"data {Path(data['data_npz']).name}"
    if data.get("probe_npz"):
        return f"file {Path(data['probe_npz']).name}"
    return data.get("probe_source", ADDED_LATER["probe_source"])


def file_digest(path: str | Path) -> str:
    return content_digest(path)


def probe_file_identity(path: str) -> str:
    """A probe or data file in a run's identity: its content's digest (a replaced file is another run), the path when it
    cannot be read (configure refuses such a file before any run)."""
    try:
        return "sha256:" + content_digest(path)
    except OSError:
        return path
