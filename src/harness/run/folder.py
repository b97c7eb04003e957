"""The run folder (SPEC §7): every artifact written atomically, stats.json last."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from ..fsutil import atomic_save, atomic_write_json
from .record import RunRecord

# stats.json first: a folder whose clearing is interrupted is already an unfinished run.
CORRELATION_KEYS = ("patch_corr_direct", "patch_corr_twin")
ARTIFACTS = ("stats.json", "config.json", "history.json", "metrics.json", "model.pt", "recon.npz", "recon.png")


class NotARunFolder(Exception):
    pass


class RunFolder:
    def __init__(self, path: str | Path):
        self.path = Path(path)

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    def finished_record(self, config_hash: str | None = None) -> RunRecord | None:
        """The record in stats.json when the run finished (with this config hash, if given), else None."""
        try:
            record = RunRecord.from_json(json.loads((self / "stats.json").read_text()), run_dir=str(self.path))
        except (OSError, ValueError, TypeError, KeyError):
            return None
        if config_hash is not None and record.config_hash != config_hash:
            return None
        return record

    def write_record(self, record: RunRecord) -> None:
        """stats.json: written last, so that a folder with one holds a finished run."""
        self.write_json("stats.json", record.to_json())

    def clear(self) -> None:
        """Remove a previous attempt's artifacts."""
        for name in ARTIFACTS:
            (self / name).unlink(missing_ok=True)

    def write_json(self, name: str, payload) -> None:
        atomic_write_json(self / name, payload)

    def read_json(self, name: str):
        path = self / name
        if not path.is_file():
            raise NotARunFolder(f"{self.path} is not a run folder: {name} is missing")
        return json.loads(path.read_text())

    def save_model(self, model: torch.nn.Module) -> None:
        atomic_save(self / "model.pt", lambda temporary: torch.save(model.state_dict(), temporary))

    def save_reconstruction(self, reconstruction: np.ndarray, truth: np.ndarray,
                            patch_correlations: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        """The stitched reconstruction and its truth, and the per-patch twin-image correlations
        (direct, reflected) that the stitched image cannot show."""
        extra = {} if patch_correlations is None else dict(zip(CORRELATION_KEYS, patch_correlations))
        atomic_save(self / "recon.npz",
                    lambda temporary: np.savez(temporary, reconstruction=reconstruction, ground_truth=truth, **extra))

    def load_reconstruction(self) -> tuple[np.ndarray, np.ndarray]:
        path = self / "recon.npz"
        if not path.is_file():
            raise NotARunFolder(f"{self.path} has no recon.npz")
        with np.load(path) as archive:
            return archive["reconstruction"], archive["ground_truth"]

    def load_patch_correlations(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(direct, reflected) per-patch correlations; None for folders written before they were kept."""
        try:
            with np.load(self / "recon.npz") as archive:
                if all(key in archive.files for key in CORRELATION_KEYS):
                    return tuple(archive[key] for key in CORRELATION_KEYS)
        except (OSError, ValueError):
            pass
        return None
