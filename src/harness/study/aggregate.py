"""P_crash tables from run records: a pure function, the same for a session, a JSON report or run folders."""

from __future__ import annotations

from itertools import combinations

from ..run.record import ERROR, RunRecord
from .definitions import CRASH_HUNT, SHOOTOUT
from .statistics import clopper_pearson, fisher_exact, mcnemar_exact

UNFINISHED = ("inconclusive", "oom", "infeasible")  # beside P_crash; inside it only with --count-unfinished-as-crash
CRASH_DEPTH_RULE = ("crash depth = the smallest depth where at least one seed crashed "
                    "(nonfinite, collapsed, wrong_solution/twin_image or degraded)")
CONTROL_ARM = "control"


def _counts(records: list[RunRecord], count_unfinished_as_crash: bool = False) -> dict:
    """runs, crashes, P_crash with its interval; inconclusive / oom / infeasible / errors beside it."""
    by_outcome = {name: sum(r.outcome == name for r in records) for name in (*UNFINISHED, ERROR)}
    completed = [r for r in records if r.classified]
    runs = len(completed)
    crashes = sum(r.crashed for r in completed)
    if count_unfinished_as_crash:
        extra = sum(by_outcome[name] for name in UNFINISHED)
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
        "survival": survival(records),
    }


def survival(records: list[RunRecord]) -> dict:
    """The fraction of classified runs (ok or crashed) not yet failed at the end of each epoch.

    A crashed run fails at its onset epoch (at its last epoch when no onset was recorded); a run that
    is ok never fails. Unfinished runs have no failure time and are left out, as from P_crash.
    """
    completed = [r for r in records if r.classified]
    failed_at = [None if not r.crashed else (r.onset_epoch or r.n_epochs or 1) for r in completed]
    horizon = max([r.n_epochs or 0 for r in completed] + [f or 0 for f in failed_at], default=0)
    epochs = list(range(1, horizon + 1))
    surviving = [sum(f is None or f > epoch for f in failed_at) for epoch in epochs]
    return {"runs": len(completed), "epochs": epochs, "surviving": surviving,
            "fraction": [count / len(completed) for count in surviving] if completed else []}


def crash_hunt_summary(records: list[RunRecord], *, profile: str | None = None,
                       count_unfinished_as_crash: bool = False) -> dict:
    depths = []
    for depth in sorted({r.depth for r in records}):
        at_depth = sorted((r for r in records if r.depth == depth), key=lambda r: r.seed)
        seeds = [{k: v for k, v in r.row().items() if k != "arm"} for r in at_depth]
        depths.append({"depth": depth, **_counts(at_depth, count_unfinished_as_crash), "seeds": seeds})
    crashing = [d["depth"] for d in depths if d["crashes"] > 0]
    return {
        "profile": profile,
        "rule": CRASH_DEPTH_RULE,
        "crash_depth": min(crashing) if crashing else None,
        "count_unfinished_as_crash": count_unfinished_as_crash,
        "depths": depths,
    }


def compare_arms(name_a: str, a: list[RunRecord], name_b: str, b: list[RunRecord]) -> dict:
    """Exact McNemar when both arms classified the same seeds (paired), else Fisher's exact test; no test
    when an arm has no classified run."""
    done_a = {r.seed: r.crashed for r in a if r.classified}
    done_b = {r.seed: r.crashed for r in b if r.classified}
    if not done_a or not done_b:
        return {"a": name_a, "b": name_b, "test": "none", "p_value": None,
                "why": "an arm has no classified (ok or crashed) runs", "runs_a": len(done_a), "runs_b": len(done_b)}
    if set(done_a) == set(done_b):
        a_only = sum(done_a[s] and not done_b[s] for s in done_a)
        b_only = sum(done_b[s] and not done_a[s] for s in done_a)
        return {"a": name_a, "b": name_b, "test": "mcnemar_exact", "p_value": mcnemar_exact(a_only, b_only),
                "pairs": len(done_a), "a_only_crashed": a_only, "b_only_crashed": b_only}
    return {"a": name_a, "b": name_b, "test": "fisher_exact",
            "p_value": fisher_exact(sum(done_a.values()), len(done_a), sum(done_b.values()), len(done_b)),
            "runs_a": len(done_a), "runs_b": len(done_b)}


def shootout_summary(records: list[RunRecord], *, profile: str | None = None, depth: int | None = None,
                     count_unfinished_as_crash: bool = False) -> dict:
    arm_names = list(dict.fromkeys(r.arm for r in records))  # first-seen order
    by_arm = {arm: sorted((r for r in records if r.arm == arm), key=lambda r: r.seed) for arm in arm_names}
    depths = sorted({r.depth for r in records if r.depth is not None})
    return {
        "profile": profile,
        "depth": depth if depth is not None else (depths[0] if len(depths) == 1 else depths or None),
        "rows": [r.row() for arm in arm_names for r in by_arm[arm]],
        "arms": [{"arm": arm, **_counts(by_arm[arm], count_unfinished_as_crash)} for arm in arm_names],
        "comparisons": [compare_arms(a, by_arm[a], b, by_arm[b]) for a, b in combinations(arm_names, 2)],
    }


def aggregate(records: list[RunRecord], *, profile: str | None = None,
              count_unfinished_as_crash: bool = False) -> dict:
    """{"crash_hunt": summary or None, "shootout": summary or None} from records of either study.

    Records are de-duplicated per (study, arm, depth, seed), a classified run winning over an error, so
    merged shards count each run once.
    """
    unique: dict[tuple, RunRecord] = {}
    for record in records:
        key = (record.study, record.arm, record.depth, record.seed)
        if key not in unique or (unique[key].outcome == ERROR and record.outcome != ERROR):
            unique[key] = record
    ordered = [unique[key] for key in sorted(unique, key=lambda k: (k[0], k[1], -1 if k[2] is None else k[2], k[3]))]
    hunt = [r for r in ordered if r.study == CRASH_HUNT]
    shoot = [r for r in ordered if r.study == SHOOTOUT]
    if profile is None:
        profiles = sorted({r.profile for r in ordered if r.profile})
        profile = profiles[0] if len(profiles) == 1 else ("+".join(profiles) or None)
    # the same order whatever the input order (shards merge in any order): the control arm first
    shoot.sort(key=lambda r: (r.arm != CONTROL_ARM, r.arm, r.seed))
    return {
        CRASH_HUNT: crash_hunt_summary(hunt, profile=profile, count_unfinished_as_crash=count_unfinished_as_crash)
        if hunt else None,
        SHOOTOUT: shootout_summary(shoot, profile=profile, count_unfinished_as_crash=count_unfinished_as_crash)
        if shoot else None,
    }


def summary_groups(study: str, summary: dict) -> list[tuple[str, dict]]:
    """(name, counts) of each group a summary compares: the crash hunt's depths, the shootout's arms."""
    if study == CRASH_HUNT:
        return [(f"depth {group['depth']}", group) for group in summary["depths"]]
    return [(group["arm"], group) for group in summary["arms"]]
