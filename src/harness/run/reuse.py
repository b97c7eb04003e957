"""What a run need not train again: its own finished record, the same run recorded by another study
(adopted), or its checkpoint (resumed)."""

from __future__ import annotations

import json
from typing import Callable, Iterable

from ..fsutil import place_file
from ..train.checkpoint import CHECKPOINT_NAME, CheckpointRefused, read_checkpoint, remove_checkpoint
from .config import RunConfig
from .folder import ARTIFACTS, NotARunFolder, RunFolder
from .record import BadRecord, Identity, RunRecord
from .recording import refreshed_record, start_folder


class FolderHoldsAnotherRun(ValueError):
    """A run folder holds a finished run of another configuration: it is never replaced without --rerun."""


# Fields of config.json that say where a run was recorded, not what it computed.
NOT_COMPARED = ("threads", "study", "arm", "config_hash", "probe")


def another_run_in(config: RunConfig, folder: RunFolder) -> str | None:
    """Why `config`'s run must not be recorded in `folder`: it holds a finished run of another configuration
    (saying what differs), else None."""
    record = folder.finished_record()
    if record is None or record.config_hash == config.config_hash:
        return None
    try:
        recorded = folder.read_json("config.json")
    except NotARunFolder:
        recorded = {}
    differences = _differences(recorded, json.loads(json.dumps(config.as_dict())))  # tuples as JSON lists
    what = ", ".join(differences[:4]) if differences else "the same settings, other content (a probe file or a " \
                                                             "generator's source changed)"
    return f"holds a finished run of another configuration ({what}); pass --rerun to replace it, or choose another folder"


def _differences(recorded: dict, wanted: dict, prefix: str = "") -> list[str]:
    """`key: recorded → wanted` for each setting that differs, nested tables as dotted keys."""
    found = []
    for key in sorted(set(recorded) | set(wanted)):
        if not prefix and key in NOT_COMPARED:
            continue
        old, new = recorded.get(key), wanted.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            found += _differences(old, new, f"{prefix}{key}.")
        elif old != new:
            found.append(f"{prefix}{key} {old} → {new}")
    return found


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


def _own_record(config: RunConfig, folder: RunFolder, progress) -> RunRecord | None:
    """The folder's finished record of this configuration; an invalid stats.json is said, then trained over."""
    try:
        record = folder.read_record()
    except FileNotFoundError:
        return None
    except BadRecord as exc:
        if progress is not None:
            progress(f"finished run in {folder.path} not reused: {exc}; training it again")
        return None
    return record if record.config_hash == config.config_hash else None


def reused_record(config: RunConfig, folder: RunFolder, reuse_candidates: Iterable,
                  progress: Callable[[str], None] | None) -> RunRecord | None:
    """The finished record with this config hash: the folder's own, else a candidate folder's (adopted here);
    a folder is trusted only when all its artifacts are there and readable."""
    if (record := _trusted(folder, _own_record(config, folder, progress), progress)) is not None:
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
