"""Checkpoints of an unfinished run: written atomically into its run folder, read back only for the same
configuration and a format this harness knows.

A checkpoint holds everything the rest of the run depends on — weights, optimizer and scheduler state,
the data-order generator, every random generator, the history so far and the position (epoch, step) —
so that a resumed run ends bit for bit where the uninterrupted one would (on CPU).
"""

from __future__ import annotations

import hashlib
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..fsutil import atomic_save, atomic_write_bytes
from ..models.members import load_members, member_optimizer_state, member_state_dict
from .history import History

CHECKPOINT_NAME = "checkpoint.pt"
CHECKPOINT_FORMAT = 1
# The automatic interval waits at least this many times the last write's duration between two
# checkpoints, which keeps their cost under 1/50 = 2 % of the training time, and at least a minute
# (the first checkpoint too); the write times it was chosen by are in ARCHITECTURE.md.
AUTO_COST_FACTOR = 50
AUTO_MIN_INTERVAL_S = 60.0


class CheckpointRefused(Exception):
    """A checkpoint that must not be used. `start_over` says whether discarding it loses nothing that
    another harness could still use (another configuration, an unreadable file) or not (a newer format)."""

    def __init__(self, path: Path, reason: str, start_over: bool):
        self.path = path
        self.start_over = start_over
        super().__init__(f"{path}: {reason}")


@dataclass(frozen=True)
class CheckpointPolicy:
    enabled: bool = True
    interval_s: float | None = None   # None: automatic (≥ 1 min apart, ≤ 2 % of the training time); 0: every epoch
    keep: bool = False                # keep the last checkpoint after the run finished


class _HashingWriter:
    """A binary stream that hashes what passes through it (torch.save writes sequentially)."""

    def __init__(self, stream):
        self.stream, self.sha256 = stream, hashlib.sha256()

    def write(self, data) -> int:
        self.sha256.update(data)
        return self.stream.write(data)

    def flush(self) -> None:
        self.stream.flush()


def digest_path(path: Path) -> Path:
    """Where a checkpoint's content hash is kept: beside it, written after it."""
    return path.with_name(path.name + ".sha256")


def file_sha256(path: Path) -> str:
    sha256 = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            sha256.update(block)
    return sha256.hexdigest()


def remove_checkpoint(path: Path) -> None:
    path.unlink(missing_ok=True)
    digest_path(path).unlink(missing_ok=True)


def read_checkpoint(path: Path, config_hash: str) -> dict | None:
    """The checkpoint's state, None when there is none; CheckpointRefused when it must not be used: its
    content must match the hash written beside it (a flipped byte would otherwise resume silently)."""
    if not path.exists():
        return None
    try:
        recorded = digest_path(path).read_text().strip()
    except OSError:
        raise CheckpointRefused(path, f"unreadable (no content hash {digest_path(path).name} beside it)",
                                start_over=True) from None
    if file_sha256(path) != recorded:
        raise CheckpointRefused(path, "unreadable (its content does not match its hash: the file is corrupt)",
                                start_over=True)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        stored_format, stored_hash = state["format"], state["config_hash"]
    except Exception as exc:  # a truncated or foreign file: zip, pickle or key errors
        raise CheckpointRefused(path, f"unreadable ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})",
                                start_over=True) from None
    if stored_format > CHECKPOINT_FORMAT:
        raise CheckpointRefused(path, f"format {stored_format} is newer than this harness reads ({CHECKPOINT_FORMAT}); "
                                      "resume it with the newer harness, or pass --rerun to start over", start_over=False)
    if stored_hash != config_hash:
        raise CheckpointRefused(path, f"written by another configuration (hash {stored_hash}, this run "
                                      f"{config_hash})", start_over=True)
    return state


def random_states() -> dict:
    numpy_state: tuple = np.random.get_state()  # type: ignore[assignment]  # the legacy tuple form
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": [numpy_state[0], torch.from_numpy(numpy_state[1].astype(np.int64)), *numpy_state[2:]],
        "python": random.getstate(),
    }


def restore_random_states(states: dict) -> None:
    torch.set_rng_state(states["torch"])
    if states["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
    name, keys, *rest = states["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), *rest))
    python = states["python"]
    random.setstate((python[0], tuple(python[1]), python[2]))


def member_checkpoint(module, member: int = 0) -> dict:
    """Everything the rest of member k's run depends on, at the module's current position, in a single run's
    form: a member's checkpoint is the one its single run would write."""
    epoch, batches_done = module.position
    members, optimizer = module.members, module.optimizer.optimizer
    single = members == 1
    batches = module.batches.members[member]
    state = {
        "position": [epoch, batches_done],
        "generator": module.generator.state_dict() if single else member_state_dict(module.generator, member, members),
        "optimizer": optimizer.state_dict() if single else
        member_optimizer_state(optimizer.state_dict(), module.trained_parameters, member, members),
        "scheduler": module.scheduler.state_dict() if module.scheduler is not None else None,
        # mid-epoch: the state the epoch's order was drawn from; at an epoch boundary: the next draw's
        "batches_state": batches.epoch_start_state if batches_done else batches.generator.get_state(),
        "random": random_states(),
        "history": module.runs[member].history.as_dict(),
        "collapsed_streak": module.collapse_stop.streaks[member],
        "epoch_partial": None,
    }
    if batches_done:
        state["epoch_partial"] = {"lr": module.epoch_lr, "loss": module.epoch_loss[member].detach().cpu(),
                                  "steps": module.epoch_steps[member],
                                  "train_s": time.perf_counter() - module.epoch_started}
    return state


def write_checkpoints(module) -> list[Path | None]:
    """Every member's checkpoint at the module's current position (None for a member without a checkpointer)."""
    return [run.checkpointer.write(member_checkpoint(module, member)) if run.checkpointer is not None else None
            for member, run in enumerate(module.runs)]


def restore_members(generator: torch.nn.Module, members: list, batches) -> bool:
    """Load every member's checkpoint (its `resume`) into the generator, its history and its data order, and the
    random generators from the first; False when none resumes. The members of a group resume together."""
    resumes = [member.resume for member in members]
    if all(resume is None for resume in resumes):
        return False
    if any(resume is None for resume in resumes):
        raise ValueError("the members of a group resume together, from checkpoints at one position")
    if len(members) == 1:
        generator.load_state_dict(resumes[0]["generator"])
    else:
        load_members(generator, [resume["generator"] for resume in resumes])
    for member, member_batches in zip(members, batches.members):
        member.history = History(**member.resume["history"])
        member_batches.resume_at(member.resume["batches_state"], member.resume["position"][1])
    restore_random_states(resumes[0]["random"])
    return True


class Checkpointer:
    """Writes the latest checkpoint of one run when it is due, and removes it when the run is done."""

    def __init__(self, folder: str | Path, config_hash: str, policy: CheckpointPolicy = CheckpointPolicy()):
        self.path = Path(folder) / CHECKPOINT_NAME
        self.config_hash = config_hash
        self.policy = policy
        self.writes = 0
        self.write_s = 0.0
        self.bytes = 0
        self._last_write_s = 0.0
        self._since = time.perf_counter()

    def due(self) -> bool:
        """At an epoch's end: whether enough training time passed since the last checkpoint."""
        if not self.policy.enabled:
            return False
        if self.policy.interval_s is None:
            interval = max(AUTO_MIN_INTERVAL_S, AUTO_COST_FACTOR * self._last_write_s)
        else:
            interval = self.policy.interval_s
        return time.perf_counter() - self._since >= interval

    def write(self, state: dict) -> Path | None:
        if not self.policy.enabled:
            return None
        started = time.perf_counter()
        writers = []

        def save(temporary):
            with open(temporary, "wb") as stream:
                writers.append(_HashingWriter(stream))
                torch.save({"format": CHECKPOINT_FORMAT, "config_hash": self.config_hash, **state}, writers[-1])

        atomic_save(self.path, save)
        atomic_write_bytes(digest_path(self.path), (writers[-1].sha256.hexdigest() + "\n").encode())
        self._last_write_s = time.perf_counter() - started
        self.writes += 1
        self.write_s += self._last_write_s
        self.bytes = self.path.stat().st_size
        self._since = time.perf_counter()
        return self.path

    def finish(self) -> None:
        """The run is recorded: the checkpoint has served its purpose (unless asked to keep it)."""
        if not self.policy.keep:
            remove_checkpoint(self.path)

    def summary(self) -> dict:
        return {"checkpoint_writes": self.writes, "checkpoint_s": self.write_s, "checkpoint_bytes": self.bytes}
