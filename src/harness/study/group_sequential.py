"""The group-sequential comparison of arms with the control on the same seeds.

Looks after every batch of seeds; at each look, an exact test (Boschloo by default) per arm against the
control, compared with the nominal level of an O'Brien–Fleming-type spending boundary (Lan–DeMets), Holm's
step-down across the arms; a non-binding futility stop when the conditional chance of a success at the last
look, at the rates seen so far, is below the futility bound (from the second look on). Pure: outcomes in,
decisions out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable, Mapping, Sequence

import numpy as np
from scipy import optimize, stats

from .statistics import boschloo_exact, newcombe_interval

CRASHED, OK = "crashed", "ok"   # a seed's outcome (any other: unclassified); None: not finished yet
FEWER, MORE, FUTILE, NO_DIFFERENCE, UNDECIDED, PENDING = (
    "fewer crashes", "more crashes", "difference not shown (futility stop)", "difference not shown", "undecided",
    "pending")
FINAL = (FEWER, MORE, FUTILE, NO_DIFFERENCE, UNDECIDED)


@lru_cache(maxsize=None)
def spending_boundaries(fractions: tuple[float, ...], alpha: float) -> tuple[float, ...]:
    """Two-sided z boundaries at the information fractions (increasing, last 1.0) that spend α as the
    Lan–DeMets O'Brien–Fleming function α(t) = 2 − 2Φ(z_{1−α/2}/√t), by numerical integration of the
    score's Brownian motion between looks."""
    z = stats.norm.isf(alpha / 2)
    spent = [2 * stats.norm.sf(z / np.sqrt(t)) for t in fractions]
    increments = np.diff([0.0, *spent])
    grid = np.linspace(-10, 10, 1601)  # the score S_k = Z_k √t_k
    step = grid[1] - grid[0]
    boundaries, density, previous_t = [], None, 0.0
    for t, increment in zip(fractions, increments):
        spread = np.sqrt(t - previous_t)
        if density is None:
            def crossing(b, density=None, t=t, spread=spread):
                return 2 * stats.norm.sf(b)
        else:
            def crossing(b, density=density, t=t, spread=spread):
                edge = b * np.sqrt(t)
                beyond = stats.norm.sf((edge - grid) / spread) + stats.norm.cdf((-edge - grid) / spread)
                return float(np.sum(density * beyond) * step)
        if increment <= 1e-15:
            bound = np.inf
        else:
            bound = optimize.brentq(lambda b, increment=increment: crossing(b) - increment, 0.0, 40.0, xtol=1e-10)
        boundaries.append(float(bound))
        kernel = stats.norm.pdf((grid[:, None] - (grid[None, :] if density is not None else 0.0)) / spread) / spread
        new = kernel @ (density * step) if density is not None else kernel[:, 0]
        density = np.where(np.abs(grid) < bound * np.sqrt(t), new, 0.0)
        previous_t = t
    return tuple(boundaries)


def nominal_levels(looks: Sequence[int], alpha: float) -> list[float]:
    """The two-sided p-value each look must reach: 2(1 − Φ(boundary))."""
    fractions = tuple(n / looks[-1] for n in looks)
    return [float(2 * stats.norm.sf(b)) for b in spending_boundaries(fractions, alpha)]


@dataclass(frozen=True)
class LookPlan:
    looks: tuple[int, ...] = (5, 10, 15, 20)
    alpha: float = 0.05
    futility: float = 0.10     # stop an arm when the conditional chance of final success is below this
    test: Callable[[int, int, int, int], float] | None = None  # (crashes_a, runs_a, crashes_b, runs_b) → p


@dataclass
class Comparison:
    """One arm against the control: its decision and the numbers behind it, at the look it was taken."""

    arm: str
    decision: str = PENDING
    look: int | None = None             # 1-based look of the decision (or the last look taken)
    seeds: int = 0                      # seeds per arm at that look
    p_value: float | None = None
    level: float | None = None          # the nominal level the p-value had to reach there
    crashes: int = 0
    runs: int = 0
    control_crashes: int = 0
    control_runs: int = 0
    risk_difference: float | None = None   # naive: the fractions at the stop, as if the seeds had been fixed
    ci95: list[float] | None = None        # naive: Newcombe's 95 % interval at the stop
    repeated_ci: list[float] | None = None  # the repeated confidence interval, valid whenever the looks stopped
    repeated_confidence: float | None = None
    conditional_power: float | None = None
    unclassified: dict | None = None    # the kinds of unclassified runs that left it undecided
    why: str = ""
    history: list[dict] = field(default_factory=list)

    @property
    def final(self) -> bool:
        return self.decision in FINAL


def _counts(outcomes: Sequence[str | None], seeds: int) -> tuple[int, int, int]:
    """(crashes, classified runs, unclassified runs) among the first seeds."""
    head = list(outcomes[:seeds])
    crashes, ok = head.count(CRASHED), head.count(OK)
    return crashes, crashes + ok, len(head) - crashes - ok - head.count(None)


def conditional_power(crashes_a: int, runs_a: int, crashes_b: int, runs_b: int, remaining: int, level: float,
                      test: Callable) -> float:
    """The chance the last look succeeds if the remaining seeds of each arm crash at the rates seen so far."""
    if remaining <= 0:
        return float(test(crashes_a, runs_a, crashes_b, runs_b) <= level)
    pmf_a = stats.binom.pmf(np.arange(remaining + 1), remaining, crashes_a / runs_a if runs_a else 0.5)
    pmf_b = stats.binom.pmf(np.arange(remaining + 1), remaining, crashes_b / runs_b if runs_b else 0.5)
    total = 0.0
    for u in np.nonzero(pmf_a > 1e-9)[0]:
        for v in np.nonzero(pmf_b > 1e-9)[0]:
            if test(crashes_a + int(u), runs_a + remaining, crashes_b + int(v), runs_b + remaining) <= level:
                total += pmf_a[u] * pmf_b[v]
    return float(total)


def compare_sequentially(control: Sequence[str | None], arms: Mapping[str, Sequence[str | None]],
                         plan: LookPlan) -> dict[str, Comparison]:
    """Every arm's decision against the control, look by look. Outcomes are per seed in plan order (None:
    not finished). A look is taken when all runs of its seeds are finished, for every arm still undecided;
    unclassified runs are left out of the test and counted beside it."""
    test = plan.test or boschloo_exact
    results = {arm: Comparison(arm) for arm in arms}
    family, rejected = len(arms), 0
    levels = repeated_levels(plan, family)
    for index, seeds in enumerate(plan.looks):
        active = [arm for arm in arms if not results[arm].final]
        if not active:
            break
        if any(None in control[:seeds] or len(control) < seeds or None in arms[arm][:seeds]
               or len(arms[arm]) < seeds for arm in active):
            break  # this look's runs are not all finished: the undecided arms stay pending
        look = Look(index, seeds, *_counts(control, seeds)[:2], levels)
        testable = [results[arm] for arm in active if _measured(results[arm], arms[arm], control, look, test)]
        rejected = _holm_step_down(testable, plan, look, family, rejected)
        for result in testable:
            _stop_or_go_on(result, plan, look, family - rejected, test)
    for result in results.values():
        if not result.final:
            result.why = result.why or "waiting for the runs of the next look"
    return results


@dataclass(frozen=True)
class Look:
    index: int              # 0-based
    seeds: int              # seeds per arm at this look
    control_crashes: int
    control_runs: int
    levels: tuple[float, ...]   # each look's level for the repeated confidence intervals


def repeated_levels(plan: LookPlan, family: int) -> tuple[float, ...]:
    """Each look's two-sided level for the repeated confidence intervals (Jennison & Turnbull): the spending
    boundary of α / arms, Bonferroni over the arms, so every arm's intervals at every look cover together with
    probability ≥ 1 − α whenever the looks stop — futility, Holm and unclassified runs included. Repeated
    intervals rather than a stage-wise-ordering interval: with two binomial rates the ordering's interval needs
    the control's rate as a nuisance, and several arms stop at different looks on a shared control."""
    return tuple(nominal_levels(plan.looks, plan.alpha / family))


def _measured(result: Comparison, outcomes: Sequence[str | None], control: Sequence[str | None], look: Look,
              test: Callable) -> bool:
    """Count the arm's runs at this look and test it against the control; False (undecided, saying why) when
    more of either's runs are unclassified than classified."""
    seeds, c_crashes, c_runs = look.seeds, look.control_crashes, look.control_runs
    crashes, runs, other = _counts(outcomes, seeds)
    c_other = _counts(control, seeds)[2]
    result.look, result.seeds, result.crashes, result.runs = look.index + 1, seeds, crashes, runs
    result.control_crashes, result.control_runs = c_crashes, c_runs
    result.risk_difference = crashes / runs - c_crashes / c_runs if runs and c_runs else None
    result.ci95 = newcombe_interval(crashes, runs, c_crashes, c_runs)
    result.repeated_confidence = 1 - look.levels[look.index]
    result.repeated_ci = newcombe_interval(crashes, runs, c_crashes, c_runs, result.repeated_confidence)
    if other > runs or c_other > c_runs:
        name, found = (result.arm, outcomes) if other > runs else ("control", control)
        kinds = {kind: list(found[:seeds]).count(kind) for kind in dict.fromkeys(found[:seeds])
                 if kind not in (CRASHED, OK, None)}
        result.decision, result.unclassified = UNDECIDED, kinds
        listing = ", ".join(f"{count} {kind}" for kind, count in kinds.items())
        result.why = f"{sum(kinds.values())} of {seeds} {name} runs at look {look.index + 1} unclassified ({listing})"
        return False
    result.p_value = test(crashes, runs, c_crashes, c_runs)
    return True


def _holm_step_down(tested: list[Comparison], plan: LookPlan, look: Look, family: int, rejected: int) -> int:
    """Holm's step-down: the i-th smallest p-value faces the boundary for α / (hypotheses not yet rejected).
    Returns the hypotheses rejected so far."""
    stepping = True
    for result in sorted(tested, key=lambda r: r.p_value if r.p_value is not None else math.inf):
        assert result.p_value is not None and result.risk_difference is not None
        result.level = level = nominal_levels(plan.looks, plan.alpha / (family - rejected))[look.index]
        stepping = stepping and result.p_value <= level
        if stepping:
            result.decision = FEWER if result.risk_difference < 0 else MORE
            result.why = f"p = {result.p_value:.3g} ≤ {level:.3g} at look {look.index + 1}"
            rejected += 1
    return rejected


def _stop_or_go_on(result: Comparison, plan: LookPlan, look: Look, hypotheses_left: int, test: Callable) -> None:
    """After the test at a look: record it; at the last look an arm not decided shows no difference; at a later
    look one whose chance of a difference by the last look is below the futility bound stops."""
    assert result.p_value is not None and result.level is not None
    result.history.append({"look": look.index + 1, "seeds": look.seeds, "p_value": result.p_value,
                           "level": result.level})
    if result.final:
        return
    if look.index == len(plan.looks) - 1:
        result.decision = NO_DIFFERENCE
        result.why = f"p = {result.p_value:.3g} > {result.level:.3g} at the last look ({look.seeds} seeds)"
        return
    if look.index == 0:
        # one batch estimates the rates too coarsely to stop on: 0 of 5 against 0 of 5 has a conditional
        # power of 0 at the rates seen, yet arises in 17 % of draws when the true rates are 0.3 and 0
        return
    final_level = nominal_levels(plan.looks, plan.alpha / hypotheses_left)[-1]
    power = conditional_power(result.crashes, result.runs, look.control_crashes, look.control_runs,
                              plan.looks[-1] - look.seeds, final_level, test)
    result.conditional_power = result.history[-1]["conditional_power"] = power
    if power < plan.futility:
        result.decision = FUTILE
        result.why = (f"a {power:.2f} chance of a difference by {plan.looks[-1]} seeds "
                      f"at the rates seen after {look.seeds} (futility bound {plan.futility})")
