"""What a study session is doing, said every 30 s by the controlling process: the runs training (epoch of
total, ETA), the runs finished per depth or arm, the decisions so far, an ETA for the session.

The controller trains nothing under pytest-xdist, so it reads what the runs themselves write: each run's
progress.log in its folder (epoch lines with their durations). One compact line per report, printed only
when something changed or a minute passed, so a dumb terminal and a CI log stay readable.
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..progress import _clock

EVERY_S = 30.0
EPOCH_LINE = re.compile(r"^epoch (\d+)/(\d+)\s.*\((\d+(?:\.\d+)?) s\)\s*$")
STEP_LINE = re.compile(r"^epoch (\d+)/(\d+)\s+step (\d+)/(\d+)")


@dataclass(frozen=True)
class RunningRun:
    """A run in training, as its progress.log tells: epochs done of its total, seconds per epoch so far."""

    label: str                 # <arm>/depth<d>_seed<s>
    epochs_done: int
    epochs: int
    epoch_s: float | None      # mean measured epoch duration
    in_epoch: float = 0.0      # fraction of the current epoch done (from its step lines)

    @property
    def eta_s(self) -> float | None:
        if self.epoch_s is None:
            return None
        return max(0.0, (self.epochs - self.epochs_done - self.in_epoch) * self.epoch_s)


def read_running(runs_dir: Path, since: float) -> list[RunningRun]:
    """The runs under runs_dir whose progress.log changed since `since` and that have not finished (no
    stats.json written after the log's first line)."""
    running = []
    for log in sorted(Path(runs_dir).glob("*/*/*/progress.log")):
        try:
            if log.stat().st_mtime < since:
                continue
            stats = log.parent / "stats.json"
            if stats.exists() and stats.stat().st_mtime >= log.stat().st_mtime - 1:
                continue
            run = parse_progress(log.read_text(errors="replace"), f"{log.parent.parent.name}/{log.parent.name}")
        except OSError:  # a folder being replaced between two looks
            continue
        if run is not None:
            running.append(run)
    return running


def parse_progress(text: str, label: str) -> RunningRun | None:
    """The last training attempt in a progress.log: its finished epochs and their mean duration."""
    durations: list[float] = []
    epochs, in_epoch = None, 0.0
    for line in text.splitlines():
        line = line.split("] ", 1)[-1] if line.startswith("[") else line
        if match := EPOCH_LINE.match(line):
            done, epochs = int(match[1]), int(match[2])
            if done == 1:
                durations = []
            durations.append(float(match[3]))
            in_epoch = 0.0
        elif match := STEP_LINE.match(line):
            epochs, in_epoch = int(match[2]), int(match[3]) / max(int(match[4]), 1)
    if epochs is None:
        return None
    return RunningRun(label, len(durations), epochs, sum(durations) / len(durations) if durations else None,
                      in_epoch)


def status_line(elapsed_s: float, running: list[RunningRun], finished: dict[str, dict[str, int]],
                decisions: list[str], remaining_runs: int | None, run_s: float | None, workers: int) -> str:
    """One line: elapsed time, running runs, finished runs per cell and outcome, decisions, session ETA."""
    parts = []
    if running:
        parts.append("running " + ", ".join(
            f"{run.label} epoch {run.epochs_done}/{run.epochs}" + (f" (ETA {_clock(run.eta_s)})" if run.eta_s is not None
                                                                   else "")
            for run in running))
    if finished:
        parts.append("finished " + "; ".join(
            f"{cell}: " + ", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items()))
            for cell, outcomes in finished.items()))
    if decisions:
        parts.append("decided " + "; ".join(decisions))
    eta = session_eta_s(running, remaining_runs, run_s, workers)
    if eta is not None:
        parts.append(f"session ETA ~{_clock(eta)} (≥ {remaining_runs} more runs)")
    return f"[{_clock(elapsed_s)}] " + (" | ".join(parts) or "starting")


def session_eta_s(running: list[RunningRun], remaining_runs: int | None, run_s: float | None,
                  workers: int) -> float | None:
    """The running runs' longest ETA, plus the runs still to start spread over the workers at the measured
    duration of a run; None before anything is measured."""
    if remaining_runs is None or run_s is None:
        return None
    current = max((run.eta_s or 0.0 for run in running), default=0.0)
    waiting = max(0, remaining_runs - len(running))
    return current + math.ceil(waiting / max(workers, 1)) * run_s


class StatusPrinter:
    """A thread in the controlling process that writes `status()` every EVERY_S seconds when it changed (and
    at least every other period, so a long epoch still shows life)."""

    def __init__(self, write: Callable[[str], None], status: Callable[[], str], every_s: float = EVERY_S):
        self.write, self.status, self.every_s = write, status, every_s
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="study-status", daemon=True)
        self.last: str | None = None
        self.quiet = 0

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()
        if self.thread.is_alive():
            self.thread.join(timeout=5)

    def tick(self) -> str | None:
        """One look: the line written, or None when nothing changed since the last (once in a row)."""
        line = self.status()
        body = line.split("] ", 1)[-1]
        if body == self.last and self.quiet < 1:
            self.quiet += 1
            return None
        self.last, self.quiet = body, 0
        self.write(line)
        return line

    def _loop(self) -> None:
        while not self.stopped.wait(self.every_s):
            try:
                self.tick()
            except Exception as exc:  # a status line must never end a session
                self.write(f"(status unavailable: {exc})")


def runs_to_decide(cells: dict[str, dict[str, int]], p0: float, p1: float, alpha: float, beta: float) -> int:
    """The fewest further runs that could decide every open cell (a depth's counts of ok and crashed runs):
    Wald's log-likelihood ratio must leave (log β/(1−α), log (1−β)/α); counting the way down, every further run
    ok. A cell of unclassified runs only is closed once three are in; one of infeasible runs only needs no
    training time at all (a configuration that cannot be built is refused in a second, whatever the seed)."""
    lower, upper = math.log(beta / (1 - alpha)), math.log((1 - beta) / alpha)
    per_crash, per_ok = math.log(p1 / p0), math.log((1 - p1) / (1 - p0))
    needed = 0
    for outcomes in cells.values():
        crashed, ok = outcomes.get("crashed", 0), outcomes.get("ok", 0)
        finished = sum(outcomes.values())
        if crashed + ok == 0 and (finished >= 3 or 0 < finished == outcomes.get("infeasible", 0)):
            continue
        llr = crashed * per_crash + ok * per_ok
        if lower < llr < upper:
            needed += math.ceil((lower - llr) / per_ok - 1e-9)
    return needed


def runs_to_finish_look(finished: dict[str, dict[str, int]], arms: list[str], batch: int) -> int:
    """The shootout's runs still needed before its current look can be read: every arm at the look's seeds
    (a look is `batch` more seeds per arm; the current one is the furthest any arm has reached)."""
    done = {arm: sum(finished.get(arm, {}).values()) for arm in arms}
    look = max(1, max((math.ceil(count / batch) for count in done.values()), default=1))
    return sum(max(0, look * batch - count) for count in done.values())
