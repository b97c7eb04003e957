"""The on-disk dataset cache: built once per parameter set, written atomically, verified on load."""

from __future__ import annotations

import json
import os
import shutil
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..fsutil import DiskFull, exclusive_lock, full_disk
from .measured import check_measured, measured_splits
from .params import DatasetParams
from .simulation import content_hash, resolve_probe, simulate

CACHE_ENV = "HARNESS_CACHE_DIR"
SPLITS = ("train", "test")

# How many datasets this process has simulated; tests count builds with it instead of timing.
build_count = 0


class CacheCorrupt(Exception):
    """A cache entry that is truncated, unreadable or does not match its content hash."""


def default_cache_dir() -> Path:
    """$HARNESS_CACHE_DIR, else fixtures/.cache of the source checkout, else ~/.cache/harness."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    checkout = Path(__file__).resolve().parents[3]
    if (checkout / "fixtures").is_dir() and (checkout / "pyproject.toml").is_file():
        return checkout / "fixtures" / ".cache"
    return Path.home() / ".cache" / "harness" / "datasets"


@dataclass
class Dataset:
    """Both splits of a cached dataset, loaded read-only from the cache entry."""

    key: str
    directory: Path
    params: DatasetParams
    train: dict[str, np.ndarray] = field(repr=False)
    test: dict[str, np.ndarray] = field(repr=False)
    built: bool = False

    def path(self, split: str) -> Path:
        return self.directory / f"{split}.npz"

    @property
    def metadata(self) -> dict:
        return json.loads(str(self.train["metadata"]))

    @property
    def measured(self) -> bool:
        return self.params.measured


def _load_split(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except Exception as exc:
        raise CacheCorrupt(f"{path}: unreadable ({type(exc).__name__}: {exc})") from None
    if "metadata" not in arrays:
        raise CacheCorrupt(f"{path}: no metadata")
    expected = json.loads(str(arrays["metadata"]))["content_hash"]
    actual = content_hash({k: v for k, v in arrays.items() if k != "metadata"})
    if actual != expected:
        raise CacheCorrupt(f"{path}: content hash {actual[:12]} does not match metadata {expected[:12]}")
    for array in arrays.values():
        array.setflags(write=False)
    return arrays


def _load_entry(directory: Path) -> dict[str, dict[str, np.ndarray]]:
    return {split: _load_split(directory / f"{split}.npz") for split in SPLITS}


def _write_entry(directory: Path, splits: dict[str, dict[str, np.ndarray]]) -> None:
    """Write into a temporary folder beside the entry, then rename it into place in one step."""
    staging = directory.parent / f".tmp-{directory.name}-{uuid.uuid4().hex[:8]}"
    staging.mkdir(parents=True)
    try:
        for split, arrays in splits.items():
            np.savez(staging / f"{split}.npz", **arrays)  # type: ignore[arg-type]  # the stubs misread **arrays
        if directory.exists():
            trash = directory.parent / f".trash-{directory.name}-{uuid.uuid4().hex[:8]}"
            os.rename(directory, trash)
            shutil.rmtree(trash, ignore_errors=True)
        os.rename(staging, directory)
    except BaseException as exc:
        full = full_disk(staging / "train.npz", exc)   # before the staged files' space is freed again
        shutil.rmtree(staging, ignore_errors=True)
        if full:
            raise DiskFull(directory) from None
        raise


def get_dataset(params: DatasetParams, cache_dir: str | Path | None = None) -> Dataset:
    """The dataset for these parameters: from the cache when a valid entry exists, else built."""
    global build_count
    params.validate()
    if params.measured:
        check_measured(params)   # a file that is not a dataset fails here, before the cache is touched
        key, build = params.cache_key(), measured_splits
    else:
        _, probe_digest = resolve_probe(params)  # bad probe files fail here, before the cache is touched
        key, build = params.cache_key(probe_digest), simulate
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    directory = cache_dir / key

    def cached() -> dict | None:
        if not directory.exists():
            return None
        try:
            return _load_entry(directory)
        except CacheCorrupt as exc:
            warnings.warn(f"dataset cache entry is corrupt, rebuilding: {exc}", stacklevel=3)
            return None

    splits = cached()
    built = False
    if splits is None:
        cache_dir.mkdir(parents=True, exist_ok=True)
        with exclusive_lock(cache_dir / f"{key}.lock"):
            splits = cached()  # another worker may have built it while we waited
            if splits is None:
                _write_entry(directory, build(params))
                build_count += 1
                built = True
                splits = _load_entry(directory)
    return Dataset(key=key, directory=directory, params=params, train=splits["train"], test=splits["test"], built=built)
