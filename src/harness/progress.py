"""Progress a person can watch: epoch lines, and per-step progress within an epoch.

On a terminal a bar is redrawn in place (steps, loss, steps/s, ETA of the epoch); in a file or a pipe
a plain line every tenth of an epoch, written and flushed at once, so `tail -f` shows life.
"""

from __future__ import annotations

import sys
import time
from typing import Callable, TextIO

REDRAW_S = 0.25          # least time between two redraws of the bar
LINES_PER_EPOCH = 10     # step lines per epoch where no bar can be drawn


def _clock(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 \
        else f"{seconds // 60}:{seconds % 60:02d}"


class Progress:
    """`line(text)` for whole lines (epoch results), `step(...)` after every training step."""

    def __init__(self, write: Callable[[str], None], bar_stream: TextIO | None = None, prefix: str = ""):
        self.write = write
        self.bar_stream = bar_stream
        self.prefix = prefix
        self._bar_width = 0
        self._last_draw = 0.0
        self._epoch_started: float | None = None
        self._epoch_key: tuple[int, int] | None = None
        self._first_done = 0

    @classmethod
    def for_terminal(cls, stream: TextIO = sys.stderr) -> "Progress":
        """Lines to `stream`, flushed; a bar when `stream` is a terminal."""
        def write(text: str) -> None:
            print(text, file=stream, flush=True)

        return cls(write, bar_stream=stream if stream.isatty() else None)

    def line(self, text: str) -> None:
        self._clear_bar()
        self.write(self.prefix + text)

    def __call__(self, text: str) -> None:  # a Progress is also a plain line callback
        self.line(text)

    def labelled(self, label: str) -> Callable[[str], None]:
        """A line callback that names its source (one member of a group), sharing this progress's bar."""
        return lambda text: self.line(f"[{label}] {text}")

    def step(self, epoch: int, epochs: int, done: int, total: int, loss: float) -> None:
        """After step `done` (1-based) of `total` in 0-based `epoch` of `epochs`."""
        now = time.perf_counter()
        if self._epoch_key != (epoch, total) or self._epoch_started is None:
            self._epoch_key, self._epoch_started, self._first_done = (epoch, total), now, done - 1
        elapsed = now - self._epoch_started
        rate = (done - self._first_done) / elapsed if elapsed > 0 else 0.0
        eta = (total - done) / rate if rate > 0 else float("nan")
        text = (f"epoch {epoch + 1}/{epochs}  step {done}/{total}  loss {loss:.4g}  {rate:.2f} steps/s  "
                f"ETA {_clock(eta) if eta == eta else '?'}")
        if self.bar_stream is not None:
            if done == total or now - self._last_draw >= REDRAW_S:
                self._draw_bar(done, total, text)
                self._last_draw = now
        elif done % max(1, total // LINES_PER_EPOCH) == 0 and done != total:
            self.write(self.prefix + text)

    def _draw_bar(self, done: int, total: int, text: str) -> None:
        assert self.bar_stream is not None
        filled = int(20 * done / max(total, 1))
        bar = f"\r{self.prefix}[{'#' * filled}{'.' * (20 - filled)}] {text}"
        self._bar_width = max(self._bar_width, len(bar))
        self.bar_stream.write(bar.ljust(self._bar_width))
        self.bar_stream.flush()

    def _clear_bar(self) -> None:
        if self.bar_stream is not None and self._bar_width:
            self.bar_stream.write("\r" + " " * self._bar_width + "\r")
            self.bar_stream.flush()
            self._bar_width = 0
