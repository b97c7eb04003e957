"""Atomic file writes and writable-folder checks: an interrupted write never leaves a partial file."""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import shutil
import socket
import tempfile
import time
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Sequence

from .errors import UsageError


def _file_mode() -> int:
    """Permissions a plain open() would give a new file (mkstemp makes them private)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


FILE_MODE = _file_mode()


class DiskFull(OSError):
    """A write failed because the file system is full: named with the path, never taken for a crash."""

    def __init__(self, path: Path):
        free = shutil.disk_usage(path.parent).free if path.parent.exists() else 0
        super().__init__(errno.ENOSPC, f"no space left on the device writing {path} ({free / 2**20:.0f} MiB free)")
        self.path = path


def content_digest(path: str | Path) -> str:
    """sha256 of a file's bytes, read once per (path, inode, modification time, size) in a process: a probe file or
    a generator's source enters many run hashes. The inode tells a file replaced by a rename (how files are saved
    atomically) within the file system's clock tick, whose modification time can be the same."""
    stat = Path(path).stat()
    return _digest_of(str(Path(path).resolve()), stat.st_ino, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=256)
def _digest_of(path: str, inode: int, mtime_ns: int, size: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def full_disk(path: Path, error: BaseException) -> bool:
    """Whether an error while writing `path` came from a full file system (torch reports it as a RuntimeError)."""
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    try:
        return isinstance(error, (OSError, RuntimeError)) and shutil.disk_usage(path.parent).free < 2**20
    except OSError:
        return False


@contextmanager
def exclusive_lock(path: Path, waiting=None):
    """Hold an exclusive lock on `path` (a lock file, created) for the block; one process at a time. When
    another holds it, waiting(line) is told who before this one waits for it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir():
        raise UsageError(str(path), "", "is a folder where a lock file belongs: remove it")
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if waiting is not None:
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                waiting(f"{path.parent} is in use by {holder}: waiting for it")
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()} since {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    atomic_save(path, lambda temporary: Path(temporary).write_bytes(data))


def atomic_write_json(path: str | Path, payload) -> None:
    atomic_write_bytes(path, (json.dumps(payload, indent=2, sort_keys=True, default=_json_default) + "\n").encode())


def _json_default(value):
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def atomic_save(path: str | Path, writer) -> None:
    """Call writer(temporary_path), then rename the result into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(handle)
    try:
        writer(temporary)
        os.chmod(temporary, FILE_MODE)
        os.replace(temporary, path)
    except BaseException as exc:
        full = full_disk(path, exc)   # before the temporary's space is freed again
        Path(temporary).unlink(missing_ok=True)
        if full:
            raise DiskFull(path) from None
        raise


def place_file(source: Path, target: Path) -> None:
    """Put source at target without copying where possible (hard link), atomically either way."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.placing"
    staging.unlink(missing_ok=True)
    try:
        os.link(source, staging)
    except OSError:
        shutil.copyfile(source, staging)
    os.replace(staging, target)


def ensure_writable_dirs(folders: Sequence[tuple[str | Path, str]]) -> None:
    """ensure_writable_dir for each (path, flag); when one fails, the folders made for the ones before it
    are removed again (when still empty), so a refused command leaves nothing behind."""
    made: list[Path] = []
    try:
        for path, flag in folders:
            made += _make_writable(Path(path), flag)
    except UsageError:
        for folder in reversed(made):
            try:
                folder.rmdir()  # only empty ones: never a user's files
            except OSError:
                pass
        raise


def ensure_writable_dir(path: str | Path, flag: str) -> Path:
    """Create the folder if needed and prove it is writable, or raise UsageError naming the flag.

    A folder this call created is removed again when it turns out to be unusable.
    """
    path = Path(path)
    _make_writable(path, flag)
    return path


def _make_writable(path: Path, flag: str) -> list[Path]:
    """The folders created to make `path` a writable folder (none when it was one); UsageError otherwise."""
    created = []
    try:
        for parent in reversed([path, *path.parents]):
            if not parent.exists():
                parent.mkdir()
                created.append(parent)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-check-"):
            pass
    except OSError as exc:
        for folder in reversed(created):
            shutil.rmtree(folder, ignore_errors=True)
        raise UsageError(flag, path, f"not a writable folder ({exc.strerror or exc})") from None
    return created
