"""The run folder: every artifact written atomically, stats.json last."""

from __future__ import annotations

import json
from pathlib import Path
from typing import cast

import numpy as np
import torch

from ..data.params import probe_label
from ..fsutil import atomic_save, atomic_write_json, exclusive_lock
from .record import BadRecord, RunRecord

# stats.json first: a folder whose clearing is interrupted is already an unfinished run.
CORRELATION_KEYS = ("patch_corr_direct", "patch_corr_twin")
LOCK_NAME = ".lock"
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
            record = self.read_record()
        except (FileNotFoundError, BadRecord):
            return None
        if config_hash is not None and record.config_hash != config_hash:
            return None
        return record

    def read_record(self) -> RunRecord:
        """stats.json's record, checked (FileNotFoundError when there is none; BadRecord naming the file and what is
        wrong with it when it is unreadable or invalid)."""
        path = self / "stats.json"
        try:
            text = path.read_text()
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise BadRecord(f"{path} is not readable ({exc})") from None
        try:
            record = RunRecord.from_json(json.loads(text), run_dir=str(self.path))
        except ValueError as exc:  # JSONDecodeError and BadRecord alike
            what = str(exc) if isinstance(exc, BadRecord) else f"is not JSON ({exc})" if text.strip() else "is empty"
            raise BadRecord(f"{path} {what}") from None
        if record.probe is None:  # written before records named the probe: its config.json says
            try:
                record = record.replace(probe=probe_label(self.read_json("config.json").get("data", {})))
            except NotARunFolder:
                pass
        return record

    def write_record(self, record: RunRecord) -> None:
        """stats.json: written last, so that a folder with one holds a finished run."""
        self.write_json("stats.json", record.to_json())

    def lock(self, waiting=None):
        """Exclusive use of this folder for a block (a lock file in it): one process writes a run folder at
        a time; waiting(line) hears who holds it before this one waits."""
        return exclusive_lock(self / LOCK_NAME, waiting)

    def problem(self) -> str | None:
        """Why this finished folder cannot be trusted as it is (a missing or unreadable artifact), else None."""
        for name in ARTIFACTS:
            if not (self / name).is_file():
                return f"{name} is missing"
        try:
            self.read_json("history.json", needs=("epochs",))
            self.read_json("metrics.json")
            self.load_reconstruction()
        except NotARunFolder as exc:
            return str(exc)
        return None

    def remove_temporaries(self) -> list[str]:
        """Remove the hidden temporary files of writes that never finished (a process killed while writing a
        checkpoint or an artifact); only the holder of the folder's lock may call it. Returns their names."""
        stale = [path for path in self.path.glob(".*") if path.name != LOCK_NAME and path.is_file()]
        for path in stale:
            path.unlink(missing_ok=True)
        return [path.name for path in stale]

    def clear(self) -> None:
        """Remove a previous attempt's artifacts."""
        for name in ARTIFACTS:
            (self / name).unlink(missing_ok=True)

    def write_json(self, name: str, payload) -> None:
        atomic_write_json(self / name, payload)

    def read_json(self, name: str, kind: type = dict, needs: tuple[str, ...] = ()):
        """A JSON file of the folder, checked to be a `kind` holding the keys `needs` (NotARunFolder naming it)."""
        path = self / name
        if not path.is_file():
            raise NotARunFolder(f"{self.path} is not a run folder: {name} is missing")
        try:
            payload = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise NotARunFolder(f"{path} is not readable JSON ({type(exc).__name__}: {exc})") from None
        if not isinstance(payload, kind) or any(key not in cast(dict, payload) for key in needs):
            raise NotARunFolder(f"{path} does not hold a run's {name.removesuffix('.json')}"
                                + (f" (it needs {', '.join(needs)})" if needs else ""))
        return payload

    def save_model(self, model: torch.nn.Module) -> None:
        atomic_save(self / "model.pt", lambda temporary: torch.save(model.state_dict(), temporary))

    def save_reconstruction(self, reconstruction: np.ndarray, truth: np.ndarray | None,
                            patch_correlations: tuple[np.ndarray, np.ndarray] | None = None,
                            object_patches: np.ndarray | None = None, probe: np.ndarray | None = None) -> None:
        """The stitched reconstruction and its truth (none for measured data: then the predicted test patches, which
        the agreement across seeds reads for a twin, and the normalised probe they were lit by), and the per-patch
        twin-image correlations (direct, reflected) that the stitched image cannot show."""
        extra = {} if patch_correlations is None else dict(zip(CORRELATION_KEYS, patch_correlations))
        if truth is not None:
            extra["ground_truth"] = truth
        if object_patches is not None:
            extra["object_patches"] = object_patches.astype(np.complex64)
        if probe is not None:
            extra["probe"] = probe.astype(np.complex64)
        atomic_save(self / "recon.npz",
                    lambda temporary: np.savez(temporary, reconstruction=reconstruction,
                                               **extra))  # type: ignore[arg-type]  # the stubs misread **

    def load_reconstruction(self) -> tuple[np.ndarray, np.ndarray | None]:
        """(reconstruction, truth); the truth is None for a run on measured data."""
        path = self / "recon.npz"
        if not path.is_file():
            raise NotARunFolder(f"{self.path} has no recon.npz")
        try:
            with np.load(path, allow_pickle=False) as archive:
                truth = archive["ground_truth"] if "ground_truth" in archive.files else None
                return archive["reconstruction"], truth
        except Exception as exc:  # truncated or foreign archives: zip, key or format errors
            raise NotARunFolder(f"{path} is not readable ({type(exc).__name__}: {exc})") from None

    def load_patch_correlations(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(direct, reflected) per-patch correlations; None for folders written before they were kept."""
        try:
            with np.load(self / "recon.npz", allow_pickle=False) as archive:
                if all(key in archive.files for key in CORRELATION_KEYS):
                    return tuple(archive[key] for key in CORRELATION_KEYS)
        except Exception:  # unreadable: load_reconstruction says so
            pass
        return None
