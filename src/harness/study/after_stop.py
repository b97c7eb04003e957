"""What a depth's P_crash is after the SPRT stopped: an estimate and an interval valid under the stopping rule.

The SPRT stops because its runs looked extreme, so the naive fraction crashes/runs is biased (at a true P_crash of
0.3 it averages 0.40 at the stop) and its Clopper–Pearson interval is not exact. Here the stopping rule is taken
into account exactly. Every way the walk can end is a stopping point (runs, crashes); the number of crash orders
that reach it without stopping earlier does not depend on P_crash, so P(point | p) = paths · pᵏ (1 − p)ⁿ⁻ᵏ. The
points are put in the stage-wise order (Armitage; Jennison & Turnbull ch. 8): a crossing of the crashy boundary is
larger the earlier it happens, a crossing of the stable boundary smaller the earlier it happens, the points where
the budget ran out lie between them ordered by crashes. Then, from the observed point t:

* the exact 95 % interval is [p with P_p(T ≥ t) = 0.025, p with P_p(T ≤ t) = 0.025];
* the one-sided 95 % upper bound (said with "stable") is the p with P_p(T ≤ t) = 0.05;
* the median-unbiased estimate is the p at which t is the median by the mid-p rule,
  P_p(T > t) + ½ P_p(T = t) = ½: below the truth as often as above it, as far as 21 possible stopping points
  allow. It is not mean-unbiased (at 0.3 it averages 0.36): for that,
* the unbiased estimate (Rao–Blackwell; Girshick, Mosteller & Savage 1946) is the share of the paths to t whose
  first run crashed: its average over sessions is the true P_crash exactly, at the cost of odd single values
  (4 of 20 crashed gives 0.18).

The budget is counted in classified runs: the planned seeds less the unclassified runs the walk met.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from scipy import optimize

from .sprt import Sprt

CONFIDENCE = 0.95


@dataclass(frozen=True)
class StopPoint:
    runs: int
    crashes: int
    paths: int          # crash orders that reach this point without stopping before it
    first_crashed: int  # of those, the orders whose first run crashed
    rank: tuple         # stage-wise order: larger means more crashes


@dataclass(frozen=True)
class StopEstimate:
    estimate: float                 # median-unbiased under the stopping rule
    unbiased: float                 # mean-unbiased under the stopping rule
    interval: tuple[float, float]   # exact 95 % under the stopping rule
    upper_bound: float              # one-sided 95 %
    naive: float                    # crashes / runs, as if the number of runs had been fixed

    def as_dict(self) -> dict:
        return {"estimate": self.estimate, "unbiased": self.unbiased, "interval": list(self.interval),
                "upper_bound": self.upper_bound, "naive": self.naive}


@lru_cache(maxsize=None)
def stopping_points(sprt: Sprt, budget: int) -> tuple[StopPoint, ...]:
    """Every point where the walk over at most `budget` classified runs ends, in stage-wise order."""
    points: list[StopPoint] = []
    walking = {(0, 0): 1}   # (crashes, first run crashed) → paths still walking after `runs` runs
    for runs in range(1, budget + 1):
        after: dict[tuple[int, int], int] = {}
        for (crashes, first), paths in walking.items():
            for crashed in (0, 1):
                key = (crashes + crashed, crashed if runs == 1 else first)
                after[key] = after.get(key, 0) + paths
        walking = {}
        for crashes in sorted({crashes for crashes, _ in after}):
            paths, first_crashed = after.get((crashes, 0), 0) + after.get((crashes, 1), 0), after.get((crashes, 1), 0)
            decision = sprt.decide(crashes * sprt.step(True) + (runs - crashes) * sprt.step(False))
            if decision is not None:
                rank = (2, -runs) if decision == "crashy" else (0, runs)
                points.append(StopPoint(runs, crashes, paths, first_crashed, rank))
            elif runs == budget:
                points.append(StopPoint(runs, crashes, paths, first_crashed, (1, crashes)))
            else:
                walking.update({key: after[key] for key in ((crashes, 0), (crashes, 1)) if key in after})
    return tuple(sorted(points, key=lambda point: point.rank))


def _probability(point: StopPoint, rate: float) -> float:
    if rate <= 0.0:
        return float(point.paths) if point.crashes == 0 else 0.0
    if rate >= 1.0:
        return float(point.paths) if point.crashes == point.runs else 0.0
    return math.exp(math.log(point.paths) + point.crashes * math.log(rate) + (point.runs - point.crashes)
                    * math.log1p(-rate))


def tail_probabilities(points: tuple[StopPoint, ...], index: int, rate: float) -> tuple[float, float, float]:
    """(P(T < t), P(T = t), P(T > t)) at the true rate, t the point at `index`."""
    masses = [_probability(point, rate) for point in points]
    return sum(masses[:index]), masses[index], sum(masses[index + 1:])


def _solve(function, at_zero: float, at_one: float) -> float:
    """The rate in [0, 1] where the increasing `function` crosses zero (an end when it does not)."""
    if at_zero >= 0:
        return 0.0
    if at_one <= 0:
        return 1.0
    return float(optimize.brentq(function, 0.0, 1.0, xtol=1e-10))


def after_stop(sprt: Sprt, crashes: int, runs: int, budget: int, confidence: float = CONFIDENCE) -> StopEstimate:
    """The estimate, interval and bound for a walk that ended at (runs, crashes) with `budget` classified runs
    available (a point that is not a stopping point of that budget — a walk cut short — is read as if the budget
    had been `runs`)."""
    points = stopping_points(sprt, budget)
    index = next((i for i, p in enumerate(points) if (p.runs, p.crashes) == (runs, crashes)), None)
    if index is None:
        points = stopping_points(sprt, runs)
        index = next(i for i, p in enumerate(points) if (p.runs, p.crashes) == (runs, crashes))

    def at_least(rate: float) -> float:      # P(T ≥ t): increases with the rate
        below, equal, above = tail_probabilities(points, index, rate)
        return equal + above

    def at_most(rate: float) -> float:       # P(T ≤ t): decreases with the rate
        below, equal, above = tail_probabilities(points, index, rate)
        return below + equal

    def mid(rate: float) -> float:
        below, equal, above = tail_probabilities(points, index, rate)
        return above + equal / 2 - 0.5

    two_sided = (1 - confidence) / 2
    low = _solve(lambda r: at_least(r) - two_sided, at_least(0.0) - two_sided, at_least(1.0) - two_sided)
    high = _solve(lambda r: two_sided - at_most(r), two_sided - at_most(0.0), two_sided - at_most(1.0))
    bound = _solve(lambda r: (1 - confidence) - at_most(r), (1 - confidence) - at_most(0.0),
                   (1 - confidence) - at_most(1.0))
    estimate = _solve(mid, mid(0.0), mid(1.0))
    point = points[index]
    return StopEstimate(estimate, point.first_crashed / point.paths, (low, high), bound, crashes / runs)
