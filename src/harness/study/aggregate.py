"""The study summaries from run records: counts, censored survival, quality and the decisions. Pure: the
same for a session, a JSON report or run folders."""

from __future__ import annotations

from dataclasses import asdict

from ..run.record import ERROR, INTERRUPTED, UNRECORDED, RunRecord
from .crash_depth import estimate_crash_depth
from .decisions import comparison_line, depth_decision, depth_line, outcomes_in_plan, shootout_decisions
from .definitions import CONTROL_ARM, CRASH_HUNT, SHOOTOUT, split_variant
from .design import Design
from .quality import paired_quality, performance_profile
from .statistics import clopper_pearson
from .survival import kaplan_meier, permutation_logrank

UNFINISHED = ("inconclusive", "oom", "infeasible")  # beside P_crash
# inside it with --count-unfinished-as-crash: runs that started and did not finish; an infeasible configuration
# never ran, so it can never be counted as a crash (nor make a depth crashy)
COUNTABLE_AS_CRASH = ("inconclusive", "oom")
CRASH_DEPTH_RULE = ("crash depth = the shallowest depth of the unbroken run of crashy depths counted from the deepest "
                    "(a fixed sequence: the family-wise error across the depths is α)")
ANY_CRASH_RULE = ("the smallest depth where at least one seed crashed (nonfinite, collapsed, wrong_solution/"
                  "twin_image or degraded): depends on the number of seeds, shown for reference only")


def _counts(records: list[RunRecord], count_unfinished_as_crash: bool = False) -> dict:
    """runs, crashes, P_crash with its interval; inconclusive / oom / infeasible / errors beside it; the
    Kaplan–Meier survival (censoring the unfinished runs instead of dropping them)."""
    by_outcome = {name: sum(r.outcome == name for r in records) for name in (*UNFINISHED, *UNRECORDED)}
    completed = [r for r in records if r.classified]
    runs = len(completed)
    crashes = sum(r.crashed for r in completed)
    if count_unfinished_as_crash:
        extra = sum(by_outcome[name] for name in COUNTABLE_AS_CRASH)
        runs, crashes = runs + extra, crashes + extra
    return {
        "runs": runs,
        "crashes": crashes,
        "p_crash": crashes / runs if runs else None,
        "ci95": clopper_pearson(crashes, runs),
        "inconclusive": by_outcome["inconclusive"],
        "oom": by_outcome["oom"],
        "infeasible": by_outcome["infeasible"],
        "errors": by_outcome[ERROR],
        "interrupted": by_outcome[INTERRUPTED],
        "survival": kaplan_meier(records),
        "quality": performance_profile(records),
    }


def _as_counted(records: list[RunRecord], count_unfinished_as_crash: bool) -> list[RunRecord]:
    """With --count-unfinished-as-crash, the decisions see inconclusive and oom runs as crashes."""
    if not count_unfinished_as_crash:
        return records
    return [r.replace(outcome="crashed", crashed=True) if r.outcome in COUNTABLE_AS_CRASH else r
            for r in records]


def _plan(records: list[RunRecord], seeds) -> list[int]:
    """The seeds in decision order: the planned ones with any others found, ascending."""
    return sorted(set(seeds or ()) | {r.seed for r in records})


def probes_of(records: list[RunRecord]) -> list[dict]:
    """The probes the runs used: name, |P|'s point-asymmetry and whether an exact amplitude twin exists
    (from the runs' twin evidence; None where no run of that probe recorded it)."""
    probes: dict[str, dict] = {}
    for record in records:
        name = record.probe or "not recorded"
        twin = (record.evidence or {}).get("twin") or {}
        known = probes.setdefault(name, {"probe": name, "asymmetry": None, "exact_twin": None,
                                         "measured": bool((record.evidence or {}).get("measured"))})
        if known["asymmetry"] is None and twin.get("probe_asymmetry") is not None:
            known.update(asymmetry=twin["probe_asymmetry"], exact_twin=twin.get("exact_twin"))
    return [probes[name] for name in sorted(probes)]


def crash_hunt_summary(records: list[RunRecord], *, design: Design | None = None, seeds=None,
                       profile: str | None = None, count_unfinished_as_crash: bool = False) -> dict:
    """Per depth (per arm and depth when the hunt ran several arms, e.g. one per probe): counts, survival,
    quality and the decision; the crash depth of each arm."""
    design = design or Design()
    plan = _plan(records, seeds)
    arms = sorted({r.arm for r in records})
    depths, decisions = [], []
    for arm in arms:
        for depth in sorted({r.depth for r in records if r.arm == arm and r.depth is not None}):
            cell = sorted((r for r in records if r.arm == arm and r.depth == depth), key=lambda r: r.seed)
            decision = depth_decision(depth, outcomes_in_plan(_as_counted(cell, count_unfinished_as_crash), plan),
                                      design)
            decisions.append((arm, decision))
            rows = [{k: v for k, v in r.row().items() if k != "arm"} for r in cell]
            depths.append({"depth": depth, "arm": arm, "decision": decision.as_dict(),
                           **_counts(cell, count_unfinished_as_crash), "seeds": rows})
    estimates = {arm: estimate_crash_depth([d for a, d in decisions if a == arm], design.p1) for arm in arms}
    by_arm = {arm: found.depth for arm, found in estimates.items()}
    lines = [f"{arm} {depth_line(d)}" if len(arms) > 1 else depth_line(d) for arm, d in decisions]
    said = {arm: found.line(design.p1) for arm, found in estimates.items()}
    lines += [("" if len(arms) == 1 else f"{arm}: ") + line for arm, line in said.items()]
    crashing = [d["depth"] for d in depths if d["crashes"] > 0]
    return {
        "profile": profile,
        "design": design.as_dict(),
        "decisions": lines,
        "rule": CRASH_DEPTH_RULE,
        "crash_depth": next(iter(by_arm.values())) if len(arms) == 1 else None,
        "crash_depths": by_arm,
        "crash_depth_estimates": {arm: {**asdict(found), "line": said[arm]} for arm, found in estimates.items()},
        "any_crash_depth": {"rule": ANY_CRASH_RULE, "depth": min(crashing) if crashing else None},
        "count_unfinished_as_crash": count_unfinished_as_crash,
        "probes": probes_of(records),
        "depths": depths,
    }


def shootout_summary(records: list[RunRecord], *, design: Design | None = None, seeds=None,
                     profile: str | None = None, depth: int | None = None,
                     count_unfinished_as_crash: bool = False) -> dict:
    design = design or Design()
    arm_names = list(dict.fromkeys(r.arm for r in records))  # first-seen order
    by_arm = {arm: sorted((r for r in records if r.arm == arm), key=lambda r: r.seed) for arm in arm_names}
    depths = sorted({r.depth for r in records if r.depth is not None})
    counted = {arm: _as_counted(found, count_unfinished_as_crash) for arm, found in by_arm.items()}
    control = next((arm for arm in arm_names if split_variant(arm)[0] == CONTROL_ARM), CONTROL_ARM)
    decided = shootout_decisions(counted, _plan(records, seeds), design, control)
    comparisons = [{"a": arm, "b": control, **asdict(result),
                    "logrank": permutation_logrank(by_arm[arm], by_arm[control]),
                    "quality": paired_quality(by_arm[arm], by_arm[control])}
                   for arm, result in decided.items()]
    lines = [comparison_line(result, control) for result in decided.values()]
    if not decided:
        lines = [f"no comparison: the shootout needs the {CONTROL_ARM} arm and another"]
    return {
        "profile": profile,
        "design": design.as_dict(),
        "decisions": lines,
        "depth": depth if depth is not None else (depths[0] if len(depths) == 1 else depths or None),
        "rows": [r.row() for arm in arm_names for r in by_arm[arm]],
        "arms": [{"arm": arm, **_counts(by_arm[arm], count_unfinished_as_crash)} for arm in arm_names],
        "comparisons": comparisons,
        "probes": probes_of(records),
    }


def aggregate(records: list[RunRecord], *, design: Design | None = None, seeds: dict | None = None,
              profile: str | None = None, count_unfinished_as_crash: bool = False) -> dict:
    """{"crash_hunt": summary or None, "shootout": summary or None} from records of either study.

    Records are de-duplicated per (study, arm, depth, seed), a classified run winning over an error, so
    merged shards count each run once. seeds: each study's planned seeds (decisions read them in order).
    """
    seeds = seeds or {}
    unique: dict[tuple, RunRecord] = {}
    for record in records:
        key = (record.study, record.arm, record.depth, record.seed)
        if key not in unique or (unique[key].outcome in UNRECORDED and record.outcome not in UNRECORDED):
            unique[key] = record
    ordered = [unique[key] for key in sorted(unique, key=lambda k: (k[0], k[1], -1 if k[2] is None else k[2], k[3]))]
    hunt = [r for r in ordered if r.study == CRASH_HUNT]
    shoot = [r for r in ordered if r.study == SHOOTOUT]
    if profile is None:
        profiles = sorted({r.profile for r in ordered if r.profile})
        profile = profiles[0] if len(profiles) == 1 else ("+".join(profiles) or None)
    # the same order whatever the input order (shards merge in any order): the control arm first
    shoot.sort(key=lambda r: (split_variant(r.arm)[0] != CONTROL_ARM, r.arm, r.seed))
    return {
        CRASH_HUNT: crash_hunt_summary(hunt, design=design, seeds=seeds.get(CRASH_HUNT), profile=profile,
                                       count_unfinished_as_crash=count_unfinished_as_crash) if hunt else None,
        SHOOTOUT: shootout_summary(shoot, design=design, seeds=seeds.get(SHOOTOUT), profile=profile,
                                   count_unfinished_as_crash=count_unfinished_as_crash) if shoot else None,
    }


def summary_groups(study: str, summary: dict) -> list[tuple[str, dict]]:
    """(name, counts) of each group a summary compares: the crash hunt's depths, the shootout's arms."""
    if study == CRASH_HUNT:
        several = len({group.get("arm") for group in summary["depths"]}) > 1
        return [(f"depth {group['depth']}" + (f" ({group['arm']})" if several else ""), group)
                for group in summary["depths"]]
    return [(group["arm"], group) for group in summary["arms"]]
