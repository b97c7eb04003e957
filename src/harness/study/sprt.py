"""Wald's sequential probability ratio test on the crash indicator of one depth: H0 P_crash ≤ p0 against
H1 P_crash ≥ p1, one classified run at a time.

With the defaults (p0 0.05, p1 0.30, α 0.05, β 0.20) an ok run moves the log-likelihood ratio by
log(0.70/0.95) = −0.305 and a crash by log(0.30/0.05) = +1.79, against boundaries log(β/(1−α)) = −1.56 and
log((1−β)/α) = +2.77: six straight ok runs decide `stable`, two early crashes `crashy`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable

STABLE, CRASHY = "stable", "crashy"


@dataclass(frozen=True)
class Sprt:
    p0: float = 0.05
    p1: float = 0.30
    alpha: float = 0.05
    beta: float = 0.20

    @property
    def upper(self) -> float:
        """At or above: crashy (H1)."""
        return math.log((1 - self.beta) / self.alpha)

    @property
    def lower(self) -> float:
        """At or below: stable (H0)."""
        return math.log(self.beta / (1 - self.alpha))

    def step(self, crashed: bool) -> float:
        return math.log(self.p1 / self.p0) if crashed else math.log((1 - self.p1) / (1 - self.p0))

    def decide(self, llr: float) -> str | None:
        return CRASHY if llr >= self.upper else STABLE if llr <= self.lower else None

    def walk(self, crashes: Iterable[bool]) -> tuple[str | None, int, float]:
        """(decision or None, classified runs used, log-likelihood ratio) over crash indicators in order,
        stopping at the first boundary crossed."""
        llr, used = 0.0, 0
        for crashed in crashes:
            llr += self.step(crashed)
            used += 1
            if (decision := self.decide(llr)) is not None:
                return decision, used, llr
        return None, used, llr
