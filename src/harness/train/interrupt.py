"""Stopping a run on request (SIGTERM from a scheduler, SIGINT from a terminal) at a safe point.

The handler only records the request; the training loop looks at it after every step and at every
epoch's end, writes a checkpoint there and raises RunInterrupted. A Slurm job that sees the exit
status REQUEUE_EXIT_STATUS requeues itself (docs/clusters.md, "Preemption and requeue").
"""

from __future__ import annotations

import os
import signal
from contextlib import contextmanager
from pathlib import Path

REQUEUE_EXIT_STATUS = 75   # EX_TEMPFAIL (sysexits.h): a temporary failure, run the same command again
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class RunInterrupted(Exception):
    """Training stopped on request after a completed step; its checkpoint (if any) is on disk."""

    def __init__(self, reason: str, checkpoint: Path | None = None, position: tuple[int, int] | None = None,
                 unsaved: str | None = None):
        self.reason = reason
        self.checkpoint = checkpoint
        self.position = position
        where = "" if position is None else f" at epoch {position[0] + 1}, after {position[1]} steps of it"
        if unsaved:  # the checkpoint could not be written (a full disk): the stop is still a stop
            saved = f": {unsaved}; the same command starts this run over"
        elif checkpoint:
            saved = f": checkpoint written to {checkpoint}; run the same command again to resume"
        elif position is None:  # stopped between runs: nothing of this run had started
            saved = "; run the same command again to go on"
        else:
            saved = ": no checkpoint (checkpoints are off); the same command starts this run over"
        super().__init__(f"interrupted by {reason}{where}{saved}")


class StopRequest:
    """Whether a stop was asked for, and by what (a signal, or a test injecting one)."""

    def __init__(self):
        self.reason: str | None = None

    @property
    def requested(self) -> bool:
        return self.reason is not None

    def request(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason

    def clear(self) -> None:
        self.reason = None

    def _handler(self, signum, frame) -> None:
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl-C: stop now, without waiting for the step
        self.request(signal.Signals(signum).name)

    def catch(self, signals=STOP_SIGNALS, handler=None) -> dict:
        """Record the given signals instead of dying of them; returns the previous handlers (empty where
        signals cannot be caught: not the main thread)."""
        try:
            return {signum: signal.signal(signum, handler or self._handler) for signum in signals}
        except ValueError:
            return {}

    @staticmethod
    def release(previous: dict) -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    @contextmanager
    def signals_caught(self, signals=STOP_SIGNALS):
        previous = self.catch(signals)
        try:
            yield self
        finally:
            self.release(previous)

    def forwarding_handler(self, signum, frame) -> None:
        """For a process that runs no training itself (pytest-xdist's controller): pass the signal on to
        its children, which stop their runs at a safe point, and remember it."""
        self.request(signal.Signals(signum).name)
        for child in child_pids():
            try:
                os.kill(child, signum)
            except OSError:
                pass


# One per process: signal handlers are process-wide too.
stop_request = StopRequest()


def child_pids(pid: int | None = None) -> list[int]:
    """Direct children of a process, from /proc (Linux); empty where that is not available."""
    pid = pid or os.getpid()
    children = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return children
