"""The studies' answers from run records: per depth `stable`, `crashy` or `undecided` (the SPRT, or a fixed
design's exact tests), per arm its group-sequential comparison with the control, and each as one line.

Records are taken in the plan's seed order; a seed without a finished record ends the walk (`pending`), so
the same finished folders give the same decisions whichever order they finished in, on any machine.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Mapping, Sequence

from ..run.record import UNRECORDED, RunRecord
from . import power
from .after_stop import StopEstimate, after_stop
from .design import Design
from .group_sequential import FINAL as COMPARISON_FINAL
from .group_sequential import NO_DIFFERENCE, PENDING, UNDECIDED, Comparison, compare_sequentially
from .sprt import CRASHY, STABLE
from .statistics import COMPARISON_TESTS, binomial_tail, clopper_pearson, one_sided_upper

# A depth whose finished runs are mostly unclassified ends undecided once this many of them are (fewer could
# still be outweighed: two oom runs before two crashes must not end the depth before the crashes decide it).
MIN_RUNS_FOR_UNCLASSIFIED = 3
ADVICE = {"inconclusive": "under-trained: train longer (--epochs) or use the paper profile on a GPU",
          "oom": "out of memory: a smaller group (--group-size 1), a channel cap, or a larger device",
          "infeasible": "the configuration cannot be built (see each run's message)"}


def outcomes_in_plan(records: Sequence[RunRecord], seeds: Sequence[int]) -> list[str | None]:
    """Each planned seed's outcome in plan order (None: no finished record; a harness error is not one)."""
    by_seed = {r.seed: r.outcome for r in records if r.outcome not in UNRECORDED}
    return [by_seed.get(seed) for seed in seeds]


@dataclass
class DepthDecision:
    depth: int
    decision: str = PENDING
    seeds_used: int = 0          # planned seeds the decision read, in order
    runs: int = 0                # classified runs (ok or crashed) in the test
    crashes: int = 0
    unclassified: dict[str, int] = field(default_factory=dict)
    llr: float = 0.0
    lower: float | None = None
    upper: float | None = None
    budget: int = 0
    p_value: float | None = None
    smallest_p: float | None = None
    seeds_for_power: int | None = None
    after_stop: StopEstimate | None = None   # the estimate and interval under the stopping rule (sequential)
    why: str = ""

    @property
    def final(self) -> bool:
        return self.decision in (STABLE, CRASHY, UNDECIDED)

    @property
    def mostly_unclassified(self) -> bool:
        """More than half of the runs read so far were unclassified (no test can speak for this depth)."""
        return sum(self.unclassified.values()) > self.seeds_used / 2

    def as_dict(self) -> dict:
        return asdict(self)


def _unclassified_why(unclassified: dict, finished: int) -> str:
    kind = max(unclassified, key=lambda name: unclassified[name])
    return f"{sum(unclassified.values())} of {finished} runs unclassified ({_listing(unclassified)}): {ADVICE[kind]}"


def _listing(counts: dict) -> str:
    return ", ".join(f"{count} {name}" for name, count in counts.items() if count)


def depth_decision(depth: int, outcomes: Sequence[str | None], design: Design) -> DepthDecision:
    """The SPRT over the classified runs in seed order (sequential), or exact one-sided tests against p0 and
    p1 once every seed finished (fixed)."""
    budget = min(len(outcomes), design.max_seeds) if design.sequential else len(outcomes)
    sprt = design.sprt
    result = DepthDecision(depth, budget=budget, lower=sprt.lower, upper=sprt.upper,
                           unclassified={name: 0 for name in ADVICE})
    unclassified = result.unclassified
    for index, outcome in enumerate(outcomes[:budget]):
        if outcome is None:
            result.why = f"waiting for seed {index + 1} of {budget}"
            return result
        result.seeds_used = index + 1
        if outcome in ADVICE:
            unclassified[outcome] += 1
        else:
            result.runs += 1
            result.crashes += outcome == "crashed"
            result.llr += sprt.step(outcome == "crashed")
        if not design.sequential:
            continue
        if (decision := sprt.decide(result.llr)) is not None:
            result.decision = decision
            result.after_stop = after_stop(sprt, result.crashes, result.runs, budget - sum(unclassified.values()))
            result.why = f"SPRT after {result.seeds_used} runs: log-LR {result.llr:+.2f} crossed " + (
                f"{sprt.upper:+.2f}" if decision == CRASHY else f"{sprt.lower:+.2f}")
            return result
        if sum(unclassified.values()) >= MIN_RUNS_FOR_UNCLASSIFIED and result.mostly_unclassified:
            result.decision, result.why = UNDECIDED, _unclassified_why(unclassified, result.seeds_used)
            return result
    if result.seeds_used < budget or budget == 0:
        result.why = "no seeds planned" if budget == 0 else f"waiting for seed {result.seeds_used + 1} of {budget}"
        return result
    result.decision = UNDECIDED
    if result.mostly_unclassified:
        result.why = _unclassified_why(unclassified, result.seeds_used)
    elif design.sequential:
        result.after_stop = after_stop(sprt, result.crashes, result.runs, result.runs)
        result.why = (f"budget of {budget} seeds spent: log-LR {result.llr:+.2f} between {sprt.lower:+.2f} and "
                      f"{sprt.upper:+.2f}")
    else:
        _fixed_depth(result, design)
    return result


def _fixed_depth(result: DepthDecision, design: Design) -> DepthDecision:
    """A fixed design's answer, meaning what the SPRT's does: crashy when P(≥ crashes | p0) ≤ α and P_crash ≥ p1 is
    not excluded, stable when P(≤ crashes | p1) ≤ β and P_crash ≤ p0 is not excluded; when both are excluded P_crash
    lies between p0 and p1 (undecided, said); else what its seeds could reach and what 80 % power would take."""
    crashy_p = binomial_tail(result.crashes, result.runs, design.p0, upper=True)
    stable_p = binomial_tail(result.crashes, result.runs, design.p1, upper=False)
    rate = result.crashes / result.runs
    if crashy_p <= design.alpha and stable_p <= design.beta:
        result.why = (f"P_crash lies between p0 {design.p0} and p1 {design.p1}: P(≥ {result.crashes} crashes | "
                      f"{design.p0}) = {crashy_p:.3g} ≤ α and P(≤ {result.crashes} | {design.p1}) = {stable_p:.3g} ≤ β; "
                      "neither stable nor crashy")
    elif crashy_p <= design.alpha:
        result.decision, result.p_value = CRASHY, crashy_p
        result.why = f"P(≥ {result.crashes} crashes | P_crash {design.p0}) = {crashy_p:.3g} ≤ α {design.alpha}"
    elif stable_p <= design.beta:
        result.decision, result.p_value = STABLE, stable_p
        result.why = f"P(≤ {result.crashes} crashes | P_crash {design.p1}) = {stable_p:.3g} ≤ β {design.beta}"
    elif rate > design.p0:
        result.p_value, result.smallest_p = crashy_p, design.p0 ** result.runs
        result.seeds_for_power = power.seeds_to_show_crashy(rate, design.p0, design.alpha)
        result.why = (f"{result.runs} classified runs can reach p = {result.smallest_p:.2g} at best (all crashed); "
                      f"80 % power to show crashy at the observed rate {rate:.2f} needs "
                      f"{_seeds(result.seeds_for_power, power.MOST_SEEDS)}")
    else:
        result.p_value, result.smallest_p = stable_p, (1 - design.p1) ** result.runs
        result.seeds_for_power = power.seeds_to_show_stable(rate, design.p1, design.beta)
        result.why = (f"{result.runs} classified runs can reach p = {result.smallest_p:.2g} at best (none crashed); "
                      f"80 % power to show stable at the observed rate {rate:.2f} needs "
                      f"{_seeds(result.seeds_for_power, power.MOST_SEEDS)}")
    return result


def _seeds(count: int | None, most: int) -> str:
    return f"{count} seeds" if count is not None else f"more than {most} seeds"


def shootout_decisions(by_arm: Mapping[str, Sequence[RunRecord]], seeds: Sequence[int], design: Design,
                       control: str) -> dict[str, Comparison]:
    """Each arm against the control on the planned seeds (the sequential looks, or one look at the end)."""
    budget = list(seeds[:design.max_seeds] if design.sequential else seeds)
    outcomes = {arm: outcomes_in_plan(records, budget) for arm, records in by_arm.items()}
    arms = {arm: found for arm, found in outcomes.items() if arm != control}
    if control not in outcomes or not arms:
        return {}
    results = compare_sequentially(outcomes[control], arms, design.look_plan(len(budget)))
    for result in results.values():
        if kinds := result.unclassified:
            result.why += f": {ADVICE[max(kinds, key=lambda kind: kinds[kind])]}"
    if not design.sequential:
        for result in results.values():
            _fixed_comparison(result, design, len(arms))
    return results


def _fixed_comparison(result: Comparison, design: Design, family: int) -> None:
    if result.decision != NO_DIFFERENCE or not result.runs or not result.control_runs:
        return
    test = COMPARISON_TESTS[design.test]
    runs = min(result.runs, result.control_runs)
    rate, control_rate = result.crashes / result.runs, result.control_crashes / result.control_runs
    if rate == control_rate:
        need = "a difference in the observed rates first (they are equal)"
    else:
        needed = power.seeds_to_show_difference(rate, control_rate, design.alpha / family)
        need = _seeds(needed, power.MOST_SEEDS_PER_ARM) + " per arm"
    result.why += (f"; {runs} seeds per arm can reach p = {test(runs, runs, 0, runs):.2g} at best; 80 % power "
                   f"at the observed rates needs {need}")


def depth_line(decision: DepthDecision) -> str:
    if decision.decision in (STABLE, CRASHY):
        how = "exact test" if decision.p_value is not None else "SPRT"   # a fixed design's tests set p_value
        return (f"depth {decision.depth}: {decision.decision} ({decision.crashes} of {decision.runs} crashed, "
                f"{how} after {decision.seeds_used} runs): {rate_statement(decision)}")
    line = f"depth {decision.depth}: {decision.decision}: {decision.why}"
    return f"{line}; {rate_statement(decision)}" if decision.final and decision.runs else line


def rate_interval(decision: DepthDecision) -> list[float]:
    """The 95 % interval for P_crash: under the SPRT's stopping rule where it stopped, else Clopper–Pearson."""
    if decision.after_stop is not None:
        return list(decision.after_stop.interval)
    return clopper_pearson(decision.crashes, decision.runs) or [0.0, 1.0]


def rate_statement(decision: DepthDecision) -> str:
    """What the runs say about P_crash: for stable its one-sided bound, else the estimate with its interval —
    under the SPRT's stopping rule where it stopped, the plain binomial figures where the seeds were fixed."""
    found, (low, high) = decision.after_stop, rate_interval(decision)
    if found is None:
        if decision.decision == STABLE:
            return f"P_crash < {one_sided_upper(decision.crashes, decision.runs):.2f} (one-sided 95 %, Clopper–Pearson)"
        return f"P_crash {decision.crashes / decision.runs:.2f} [{low:.2f}, {high:.2f}] (95 %, Clopper–Pearson)"
    if decision.decision == STABLE:
        return f"P_crash < {found.upper_bound:.2f} (one-sided 95 %, exact under the stopping rule)"
    return (f"P_crash {found.estimate:.2f} [{low:.2f}, {high:.2f}] (median-unbiased, 95 %, exact under the stopping "
            f"rule; mean-unbiased {found.unbiased:.2f}, naive {found.naive:.2f})")


def comparison_line(result: Comparison, control: str) -> str:
    head = f"{result.arm} vs {control}: {result.decision}"
    if result.risk_difference is None:
        return f"{head}: {result.why}"
    assert result.ci95 is not None and result.repeated_ci is not None   # measured with the risk difference
    (low, high), (naive_low, naive_high) = result.repeated_ci, result.ci95
    numbers = (f"risk difference {result.risk_difference:+.2f} [{low:+.2f}, {high:+.2f}] (repeated "
               f"{result.repeated_confidence:.1%} interval, valid at whichever look it stopped; naive Newcombe 95 % "
               f"[{naive_low:+.2f}, {naive_high:+.2f}]; {result.crashes}/{result.runs} vs "
               f"{result.control_crashes}/{result.control_runs})")
    if result.decision in COMPARISON_FINAL:
        return f"{head}, {numbers}, decided at look {result.look} ({result.seeds} seeds): {result.why}"
    return f"{head}, {numbers} at look {result.look}: {result.why}"
