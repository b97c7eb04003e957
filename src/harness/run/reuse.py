"""What a run need not train again: its own finished record, the same run recorded by another study
(adopted), or its checkpoint (resumed)."""

from __future__ import annotations

from typing import Callable, Iterable

from ..fsutil import place_file
from ..train.checkpoint import CHECKPOINT_NAME, CheckpointRefused, read_checkpoint, remove_checkpoint
from .config import RunConfig
from .folder import ARTIFACTS, RunFolder
from .record import Identity, RunRecord
from .recording import refreshed_record, start_folder


def adopt_run(config: RunConfig, source: RunFolder, folder: RunFolder, record: RunRecord) -> RunRecord:
    """Record a finished run of the same configuration as this study's run: artifacts linked (or
    copied), config.json and stats.json rewritten with this study's identity, stats.json last."""
    start_folder(config, folder)
    for name in ARTIFACTS:
        if name not in ("stats.json", "config.json") and (source / name).is_file():
            place_file(source / name, folder / name)
    record = record.replace(**vars(Identity.of(config)), reused_from=str(source.path), run_dir=str(folder.path))
    folder.write_record(record)
    return record


def _trusted(folder: RunFolder, record: RunRecord | None, progress) -> RunRecord | None:
    """The record, when every artifact of its folder is there and readable; else None, saying why."""
    if record is None:
        return None
    if (problem := folder.problem()) is not None:
        if progress is not None:
            progress(f"finished run in {folder.path} not reused: {problem}; training it again")
        return None
    return record


def reused_record(config: RunConfig, folder: RunFolder, reuse_candidates: Iterable,
                  progress: Callable[[str], None] | None) -> RunRecord | None:
    """The finished record with this config hash: the folder's own, else a candidate folder's (adopted here);
    a folder is trusted only when all its artifacts are there and readable."""
    if (record := _trusted(folder, folder.finished_record(config.config_hash), progress)) is not None:
        return refreshed_record(folder, record).replace(reused=True)
    for candidate in map(RunFolder, reuse_candidates):
        if candidate.path.resolve() == folder.path.resolve():
            continue
        if (record := _trusted(candidate, candidate.finished_record(config.config_hash), progress)) is not None:
            record = adopt_run(config, candidate, folder, refreshed_record(candidate, record, write=False))
            if progress is not None:
                progress(f"same configuration already trained in {candidate.path}: recorded here, not retrained")
            return record.replace(reused=True)
    return None


def checkpoint_to_resume(config: RunConfig, folder: RunFolder, rerun: bool,
                         progress: Callable[[str], None] | None) -> dict | None:
    """The folder's checkpoint of this configuration, if any. One of another configuration or an
    unreadable one is discarded, saying so; one of a newer format raises CheckpointRefused (not ours to delete)."""
    path = folder / CHECKPOINT_NAME
    if rerun:
        remove_checkpoint(path)
        return None
    try:
        return read_checkpoint(path, config.config_hash)
    except CheckpointRefused as exc:
        if not exc.start_over:
            raise
        if progress is not None:
            progress(f"checkpoint {exc}: not used; starting over")
        remove_checkpoint(path)
        return None
