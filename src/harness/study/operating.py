"""What a design can tell before it runs: its operating characteristics, computed exactly.

The crash hunt: at each true P_crash, the chance a depth ends stable, crashy or undecided, and the runs it takes
on average — the probability of each of the SPRT's stopping points (after_stop's enumeration) summed by kind, or
for a fixed design the binomial over its seeds through the same decision rule the study uses.

The shootout: the power to find one arm better (or worse) than the control when the others equal it, by dynamic
programming over the pair's crash counts look by look — the spending boundaries, Boschloo's (or Fisher's)
p-values of every table, the futility stop on the conditional power at the rates seen, as the study runs them.
With k arms Holm's first step tests at α / k; the figure assumes the other arms are not rejected. A false
rejection of another arm (chance ≤ α) only relaxes the level left for this one, so the figure is a lower bound,
off by at most that chance.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
from scipy import stats

from .after_stop import stopping_points
from .decisions import depth_decision
from .design import Design
from .group_sequential import LookPlan, nominal_levels
from .power import boschloo_pvalues
from .statistics import boschloo_exact

RATES = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5)
MOST_SEEDS = 60   # the budget search stops here


@dataclass(frozen=True)
class DepthCharacteristics:
    rate: float            # the true P_crash
    stable: float          # the chance the depth ends stable
    crashy: float
    undecided: float
    expected_runs: float


@dataclass(frozen=True)
class ShootoutCharacteristics:
    rate_arm: float
    rate_control: float
    arms: int              # the arms compared with the control (Holm's family)
    power: float           # the chance the arm is declared different (in the right direction)
    rejected: float        # the chance it is declared different either way (at equal rates: the false positives)
    futile: float          # the chance it stops for futility
    expected_seeds: float  # per arm, arm and control alike
    earliest_look: int | None   # the first look at which some outcome can reach its level (1-based)
    levels: tuple[float, ...]   # each look's nominal level at α / arms


def crash_hunt_characteristics(design: Design, rates=RATES, seeds: int | None = None) -> list[DepthCharacteristics]:
    """Each rate's chances of the three outcomes of one depth, every run classified."""
    if design.sequential:
        points = stopping_points(design.sprt, design.max_seeds)
        kinds = {0: "stable", 1: "undecided", 2: "crashy"}
        rows = []
        for rate in rates:
            masses = np.array([point.paths * rate ** point.crashes * (1 - rate) ** (point.runs - point.crashes)
                               for point in points])
            share = {kind: float(masses[[kinds[p.rank[0]] == kind for p in points]].sum()) for kind in kinds.values()}
            rows.append(DepthCharacteristics(rate, share["stable"], share["crashy"], share["undecided"],
                                             float(masses @ np.array([p.runs for p in points]))))
        return rows
    runs = seeds or design.max_seeds
    outcome = [depth_decision(0, ["crashed"] * k + ["ok"] * (runs - k), design).decision for k in range(runs + 1)]
    rows = []
    for rate in rates:
        pmf = stats.binom.pmf(np.arange(runs + 1), runs, rate)
        share = {kind: float(sum(p for p, o in zip(pmf, outcome) if o == kind)) for kind in ("stable", "crashy")}
        rows.append(DepthCharacteristics(rate, share["stable"], share["crashy"], 1 - sum(share.values()), runs))
    return rows


def p_value_matrix(plan: LookPlan, runs: int) -> np.ndarray:
    """The comparison's p-value for every table with `runs` per arm: [arm crashes, control crashes]."""
    test = plan.test or boschloo_exact
    if test is boschloo_exact:
        return boschloo_pvalues(runs)   # the same test on a fine nuisance grid, one array for all tables
    return _tested(test, runs)


@lru_cache(maxsize=None)
def _tested(test, runs: int) -> np.ndarray:
    return np.array([[test(a, runs, c, runs) for c in range(runs + 1)] for a in range(runs + 1)])


def shootout_characteristics(plan: LookPlan, rate_arm: float, rate_control: float,
                             arms: int = 1) -> ShootoutCharacteristics:
    """One arm against the control under the look plan, as one of `arms` arms under Holm."""
    looks, alpha = plan.looks, plan.alpha / arms
    levels = tuple(nominal_levels(looks, alpha))
    last = looks[-1]
    final = p_value_matrix(plan, last) <= levels[-1]
    earliest = next((index + 1 for index, seeds in enumerate(looks)
                     if p_value_matrix(plan, seeds).min() <= levels[index]), None)
    walking = np.outer(_pmf(looks[0], rate_arm), _pmf(looks[0], rate_control))   # [arm crashes, control crashes]
    power = rejected_either = futile = seeds_used = 0.0
    for index, seeds in enumerate(looks):
        if index:
            step = seeds - looks[index - 1]
            walking = _advance(walking, step, rate_arm).T
            walking = _advance(walking, step, rate_control).T
        crashes = np.arange(seeds + 1)
        rejected = p_value_matrix(plan, seeds) <= levels[index]
        right_way = np.sign(crashes[:, None] - crashes[None, :]) == np.sign(rate_arm - rate_control)
        power += float(walking[rejected & right_way].sum())
        rejected_either += float(walking[rejected].sum())
        stopped = rejected.copy()
        if index == len(looks) - 1:
            stopped[:] = True
        elif index > 0 and plan.futility > 0:
            hopeless = _conditional_power(seeds, last, final) < plan.futility
            futile += float(walking[hopeless & ~rejected].sum())
            stopped |= hopeless
        seeds_used += seeds * float(walking[stopped].sum())
        walking = np.where(stopped, 0.0, walking)
    return ShootoutCharacteristics(rate_arm, rate_control, arms, power, rejected_either, futile, seeds_used, earliest,
                                   levels)


def _pmf(runs: int, rate: float) -> np.ndarray:
    return stats.binom.pmf(np.arange(runs + 1), runs, rate)


def _advance(walking: np.ndarray, step: int, rate: float) -> np.ndarray:
    """Add `step` runs at `rate` along the first axis."""
    moved = np.zeros((walking.shape[0] + step, walking.shape[1]))
    for extra, mass in enumerate(_pmf(step, rate)):
        moved[extra:extra + walking.shape[0]] += mass * walking
    return moved


def _conditional_power(seeds: int, last: int, final: np.ndarray) -> np.ndarray:
    """For every table at `seeds` per arm, the chance the last look rejects if the remaining runs crash at the
    rates seen (the study's futility rule)."""
    remaining = last - seeds
    power = np.zeros((seeds + 1, seeds + 1))
    for a in range(seeds + 1):
        for c in range(seeds + 1):
            reach = final[a:a + remaining + 1, c:c + remaining + 1]
            power[a, c] = _pmf(remaining, a / seeds) @ reach @ _pmf(remaining, c / seeds)
    return power


def budget_for_power(design: Design, target: float, rate_arm: float, rate_control: float,
                     arms: int) -> tuple[int, ShootoutCharacteristics] | None:
    """The smallest budget (in steps of the batch) at which the shootout reaches the target power."""
    for budget in range(design.batch, MOST_SEEDS + 1, design.batch):
        found = shootout_characteristics(replace(design, max_seeds=budget).look_plan(), rate_arm, rate_control, arms)
        if found.power >= target:
            return budget, found
    return None


def sprt_budget_for_power(design: Design, target: float, rate: float) -> tuple[int, DepthCharacteristics] | None:
    """The smallest sequential budget at which a depth at `rate` ends crashy with the target chance."""
    for budget in range(design.batch, MOST_SEEDS + 1, design.batch):
        found = crash_hunt_characteristics(replace(design, max_seeds=budget), (rate,))[0]
        if found.crashy >= target:
            return budget, found
    return None
