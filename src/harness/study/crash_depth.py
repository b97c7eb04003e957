"""The crash depth as an estimate: a fixed-sequence test over the depths, a monotone fit of P_crash against depth,
and the depths the crash depth may be.

Each depth's SPRT errs with probability α on its own; calling the shallowest crashy depth the crash depth would
err more often (three depths all at P_crash 0.05 gave a crash depth in 7.3 % of sessions at α 0.05). Under the
study's premise that a deeper network crashes at least as often, P_crash(d) ≤ p0 implies the same at every
shallower depth, so the depths form a fixed sequence from the deepest: the deepest is tested first at the full α,
a shallower depth counts only while every deeper one was decided crashy, and the first depth not decided crashy
ends the sequence. A false crash depth then needs the deepest true-null depth to be called crashy: the
family-wise error across the depths is that one test's α. A depth left undecided because most of its runs were
unclassified (infeasible, out of memory, inconclusive) carries no test and is passed over, said in the report.

The fit is the isotonic (non-decreasing) regression of the classified crash fractions on depth, weighted by the
runs (scipy's pool-adjacent-violators). The depths the crash depth may be run from the shallowest depth whose
interval for P_crash still reaches p1 to the crash depth (or past the deepest depth tested, when none).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from scipy.optimize import isotonic_regression

from .decisions import DepthDecision, rate_interval
from .sprt import CRASHY


@dataclass
class CrashDepthEstimate:
    depth: int | None                       # the fixed sequence's answer
    sequence: list[int] = field(default_factory=list)   # the depths it tested, deepest first
    passed_over: list[int] = field(default_factory=list)  # undecided for unclassified runs: no test
    stopped_at: int | None = None           # the first depth not decided crashy
    shallowest_crashy: int | None = None    # the per-depth reading, without the sequence
    fit: dict[int, float] = field(default_factory=dict)   # isotonic P_crash per depth
    may_be: tuple[int | None, int | None] = (None, None)  # (from, to]; to None: beyond the deepest tested

    def line(self, p1: float) -> str:
        if self.depth is not None:
            head = f"crash depth {self.depth}"
        else:
            head = "no crash depth"
        order = " → ".join(map(str, self.sequence)) or "none"
        why = (f"fixed sequence from the deepest depth ({order}) stopped at depth {self.stopped_at}"
               if self.stopped_at is not None else f"fixed sequence from the deepest depth ({order})")
        if self.passed_over:
            why += f"; passed over (no test, most runs unclassified): {', '.join(map(str, self.passed_over))}"
        if self.shallowest_crashy is not None and self.shallowest_crashy != self.depth:
            why += (f"; depth {self.shallowest_crashy} was decided crashy on its own, which the sequence does not "
                    "claim as the crash depth")
        low, high = self.may_be
        if low is not None:
            span = f"depth {low} or deeper" if high is None else (
                f"depth {low}" if low == high else f"between depth {low} and {high}")
            why += f"; P_crash ≥ {p1} is not excluded from {span}"
        fit = ", ".join(f"{depth}: {rate:.2f}" for depth, rate in self.fit.items())
        return f"{head} ({why}; monotone fit of P_crash by depth: {fit or 'no classified runs'})"


def estimate_crash_depth(decisions: Sequence[DepthDecision], p1: float) -> CrashDepthEstimate:
    by_depth = sorted(decisions, key=lambda d: d.depth)
    result = CrashDepthEstimate(None)
    crashy = [d.depth for d in by_depth if d.decision == CRASHY]
    result.shallowest_crashy = min(crashy) if crashy else None
    for decision in reversed(by_depth):
        if not decision.runs or (decision.final and decision.decision != CRASHY and decision.mostly_unclassified):
            result.passed_over.append(decision.depth)
            continue
        result.sequence.append(decision.depth)
        if decision.decision != CRASHY:
            result.stopped_at = decision.depth
            break
        result.depth = decision.depth
    classified = [d for d in by_depth if d.runs]
    if classified:
        fractions = np.array([d.crashes / d.runs for d in classified])
        fitted = isotonic_regression(fractions, weights=np.array([float(d.runs) for d in classified])).x
        result.fit = {d.depth: float(rate) for d, rate in zip(classified, fitted)}
        reaching = [d.depth for d in classified if rate_interval(d)[1] >= p1]
        result.may_be = (min(reaching) if reaching else None, result.depth)
    return result
