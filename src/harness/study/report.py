"""Write the study reports: summaries (JSON), a Markdown report with the tables, and PNG plots."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from ..environment import gpu_name, machine, versions
from ..errors import UsageError
from ..fsutil import atomic_write_bytes, atomic_write_json
from ..physics.probe import twin_phrase
from ..profiles import load_profile
from ..run.record import outcome_label
from ..verdict import RECONSTRUCTED_MARGIN, fit_threshold
from .aggregate import summary_groups
from .definitions import CRASH_HUNT, SHOOTOUT
from .design import Design
from .operating import crash_hunt_characteristics, shootout_characteristics
from .plots import study_plots

MEASURED_NOTE = (
    "**Measured data, no ground truth.** A run fits when its fit error against the test patterns removes 65 % of a "
    "constant object's misfit above the Poisson floor estimated from the counts (above zero when the photons are "
    "unknown). Whether it reconstructs the object is read from the seeds: each run that trained (fits, or "
    "under-trained and not an overlap twin) is registered (shift, phase ramp, global phase) onto the medoid of the "
    "trained runs of its configuration up to its seed (the first three while fewer) and compared by amplitude "
    "correlation; a fitting run below 0.80 is a wrong_solution, a twin_image when it agrees with the medoid's "
    "point-reflected conjugate instead; an under-trained run at 0.80 or above reconstructs (ok). No majority, fewer "
    "than three trained runs, or no fitting run among those agreeing leaves the fitting runs inconclusive. "
    "What this cannot tell: if most seeds converge to the same wrong object, that object is "
    "the consensus and its runs count as ok; an objectGuess in the file is another method's reconstruction, "
    "reported beside each run (`evidence.object_guess_agreement`), not the truth.")
VERDICT_NOTE = (
    "P_crash counts classified runs only: ok, or crashed (nonfinite; collapsed = constant output; "
    "wrong_solution = fits the measured data yet reconstructs no better than a constant image, named twin_image "
    "when its patches follow the point-reflected object; degraded = reconstructed the object, then lost it). "
    "Inconclusive (under-trained), oom and infeasible runs are listed beside it, not in it, unless "
    "--count-unfinished-as-crash. Intervals are exact 95% Clopper–Pearson; the Kaplan–Meier P_crash censors "
    "ok runs (and runs interrupted by a stop request) at their last epoch instead of dropping them, and leaves "
    "inconclusive runs out (whether they crashed is unknown); its 95% band is Clopper–Pearson on the effective "
    "sample size, exact without censoring. Onset epochs count from 1.")
PORTABILITY_NOTE = (
    "Per-seed outcomes are not portable across devices, precision or library versions: float-level differences "
    "grow through training, so the same seed can crash on one machine and not on another. P_crash is the quantity; "
    "compare arms on the same machine and versions.")
SUMMARY_FILES = {CRASH_HUNT: "crash_hunt_summary.json", SHOOTOUT: "shootout_results.json"}


def environment(wall_s: float | None = None) -> dict:
    """Versions, machine and wall time for report headers."""
    return {"generated": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "machine": machine(), "gpu": gpu_name(),
            **versions(), "wall_s": wall_s}


def _fmt(value, digits=3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _interval(ci, signed: bool = False) -> str:
    if ci is None:
        return "–"
    return f"[{ci[0]:+.2f}, {ci[1]:+.2f}]" if signed else f"[{ci[0]:.2f}, {ci[1]:.2f}]"


def design_line(design: dict, study: str) -> str:
    """The design of one study in one sentence, with its error rates (a report states its own study's rule only)."""
    if design["design"] == "fixed":
        if study == CRASH_HUNT:
            return (f"Design: fixed seeds. A depth is crashy when P(≥ k crashes | P_crash {design['p0']}) ≤ α "
                    f"{design['alpha']} and P_crash ≥ {design['p1']} is not excluded, stable when P(≤ k | "
                    f"{design['p1']}) ≤ β {design['beta']} and P_crash ≤ {design['p0']} is not excluded.")
        return (f"Design: fixed seeds. Each arm is compared with the control by the {design['test']} exact test at "
                f"α {design['alpha']} (Holm across the arms).")
    if study == CRASH_HUNT:
        return (f"Design: sequential, up to {design['max_seeds']} seeds per depth in batches of {design['batch']}: "
                f"Wald's SPRT of P_crash ≤ {design['p0']} (stable) against ≥ {design['p1']} (crashy), error rates α "
                f"{design['alpha']} / β {design['beta']}.")
    return (f"Design: sequential, up to {design['max_seeds']} seeds per arm in batches of {design['batch']}: each arm "
            f"against the control at looks {', '.join(map(str, design['looks']))} seeds, {design['test']} exact test, "
            f"O'Brien–Fleming-type spending of α {design['alpha']}, Holm across the arms, non-binding futility below "
            f"{design['futility']} conditional power.")


def operating_line(summary: dict, study: str) -> str:
    """What the design could tell before it ran, computed exactly (`harness plan` gives the whole table)."""
    design = Design(**{key: value for key, value in summary["design"].items() if key != "looks"})
    if study == CRASH_HUNT:
        rows = {row.rate: row for row in crash_hunt_characteristics(design, (design.p1, 0.2, design.p0))}
        return (f"Before it ran: a depth at P_crash {design.p1} ends crashy with chance {rows[design.p1].crashy:.2f}, "
                f"one at 0.2 ends stable with chance {rows[0.2].stable:.2f}, one at {design.p0} ends crashy with "
                f"chance {rows[design.p0].crashy:.2f}; a false crash depth over all depths ≤ α {design.alpha} "
                "(`harness plan` for the table).")
    arms = max(len(summary["comparisons"]), 1)
    if not design.sequential:
        return "(`harness plan` states the sequential design's power.)"
    found = shootout_characteristics(design.look_plan(), 0.0, design.p1, arms)
    return (f"Before it ran: power {found.power:.2f} for one arm at P_crash 0 against a control at {design.p1} "
            f"among {arms} arm(s) under Holm; the earliest look that can decide is "
            f"{found.earliest_look or 'none'} (`harness plan` for more).")


def _counts_cells(group: dict) -> str:
    km = group["survival"]
    km_cell = "–" if km.get("p_crash") is None else f"{km['p_crash']:.2f} {_interval(km['ci95'])}"
    return (f"{group['runs']} | {group['crashes']} | {_fmt(group['p_crash'], 2)} | {_interval(group['ci95'])} | "
            f"{km_cell} | {group.get('inconclusive', 0)} | {group['oom']} | {group['infeasible']} | {group['errors']}"
            + (f" (+{group['interrupted']} interrupted)" if group.get("interrupted") else ""))


COUNT_HEADER = "runs | crashes | P_crash | 95% CI | Kaplan–Meier P_crash [95%] | inconclusive | oom | infeasible | errors"


def crash_hunt_table(summary: dict) -> str:
    several = side_by_side_table(summary)
    lines = ([several, ""] if several else []) + [
        f"| depth | decision | {COUNT_HEADER} | outcome per seed (onset epoch) |", "|---" * 12 + "|"]
    for name, depth in summary_groups(CRASH_HUNT, summary):
        outcomes = ", ".join(f"{s['seed']}: {outcome_label(s)}" for s in depth["seeds"])
        lines.append(f"| {name.removeprefix('depth ')} | {depth['decision']['decision']} | {_counts_cells(depth)} | "
                     f"{outcomes} |")
    lines += ["", f"Crash depth: **{_fmt(summary['crash_depth']) if summary['crash_depth'] else 'none'}** "
              f"({summary['rule']}). For reference, {summary['any_crash_depth']['rule']}: "
              f"{summary['any_crash_depth']['depth'] or 'none'}."]
    lines += [f"- {arm}: {found['line']}" for arm, found in summary.get("crash_depth_estimates", {}).items()]
    return "\n".join(lines)


def side_by_side_table(summary: dict) -> str | None:
    """The crash hunt of several arms (one per probe, say) with a column each: decision and crashes per depth;
    None for one arm."""
    arms = list(dict.fromkeys(group["arm"] for group in summary["depths"] if group.get("arm")))
    if len(arms) < 2:
        return None
    cells = {(group["arm"], group["depth"]): group for group in summary["depths"]}
    lines = ["| depth | " + " | ".join(arms) + " |", "|---" * (len(arms) + 1) + "|"]
    for depth in sorted({group["depth"] for group in summary["depths"]}):
        row = []
        for arm in arms:
            group = cells.get((arm, depth))
            row.append("–" if group is None else f"{group['decision']['decision']} ({group['crashes']}/{group['runs']} "
                       f"crashed, P_crash {_fmt(group['p_crash'], 2)})")
        lines.append(f"| {depth} | " + " | ".join(row) + " |")
    lines += ["", "Crash depth per arm: " + ", ".join(f"{arm} {depth if depth is not None else 'none'}"
                                                       for arm, depth in summary["crash_depths"].items()) + "."]
    return "\n".join(lines)


def comparison_table(summary: dict) -> str:
    if not summary["comparisons"]:
        return "No comparison (the shootout needs the control arm and another)."
    lines = ["| arm vs control | decision | risk difference [repeated CI, valid at the stop] | naive [Newcombe 95%] | "
             "p-value (level) | look (seeds) | permutation log-rank p | Δ amp_ssim (sign-flip p) |", "|---" * 8 + "|"]
    for c in summary["comparisons"]:
        level = f" (≤ {c['level']:.3g} needed)" if c.get("level") is not None else ""
        rank = c["logrank"]
        rank_cell = "–" if rank is None else f"{rank['p_value']:.3f}" + ("" if rank["exact"] else " (random)")
        quality = c["quality"]
        quality_cell = "–" if quality is None else f"{quality['mean_difference']:+.3f} ({quality['p_value']:.3f})"
        repeated = "–" if c.get("repeated_ci") is None else (
            f"{c['risk_difference']:+.2f} {_interval(c['repeated_ci'], True)} ({c['repeated_confidence']:.1%})")
        naive = "–" if c["risk_difference"] is None else f"{c['risk_difference']:+.2f} {_interval(c['ci95'], True)}"
        lines.append(f"| {c['a']} vs {c['b']} | {c['decision']} | {repeated} | {naive} | {_fmt(c['p_value'])}{level} | "
                     f"{_fmt(c['look'])} ({c['seeds']}) | {rank_cell} | {quality_cell} |")
    return "\n".join(lines)


def shootout_tables(summary: dict) -> str:
    lines = [f"Depth: **{summary['depth']}**", "", comparison_table(summary), "",
             f"| arm | {COUNT_HEADER} |", "|---" * 10 + "|"]
    for arm in summary["arms"]:
        lines.append(f"| {arm['arm']} | {_counts_cells(arm)} |")
    lines += ["", "Each run's verdict from its own references: it fits the data when its fit error is at most its fit "
              "line (from its noise floor and a constant object's misfit); it reconstructs when its amp SSIM is at "
              f"least its collapse floor + {RECONSTRUCTED_MARGIN}.", "",
              "| arm | seed | outcome (onset epoch) | best val loss | fit error (fit line) | amp SSIM (collapse floor; "
              "reconstructs line) | peak amp SSIM (epoch) |", "|---|---|---|---|---|---|---|"]
    for row in summary["rows"]:
        peak = "–" if row.get("peak_amp_ssim") is None else f"{row['peak_amp_ssim']:.3f} ({row.get('peak_epoch')})"
        floor = row.get("collapse_floor")
        lines_cell = "" if floor is None else f" ({floor:.3f}; {floor + RECONSTRUCTED_MARGIN:.3f})"
        lines.append(f"| {row['arm']} | {row['seed']} | {outcome_label(row)} | {_fmt(row['best_val_loss'], 4)} | "
                     f"{_fmt(row.get('fit_error'), 4)} ({fit_threshold(row):.4f}) | {_fmt(row['amp_ssim'])}{lines_cell} | "
                     f"{peak} |")
    return "\n".join(lines)


def survival_table(study: str, summary: dict) -> str:
    """Kaplan–Meier survival per epoch with its band and the runs at risk, per depth or arm."""
    named = [(name, g["survival"]) for name, g in summary_groups(study, summary) if g["survival"]["runs"]]
    if not named:
        return "No run trained: no survival curve."
    horizon = max(len(curve["epochs"]) for _, curve in named)
    lines = ["| epoch | " + " | ".join(f"{name}: survival [95%] (at risk)" for name, _ in named) + " |",
             "|---" * (len(named) + 1) + "|"]
    for index in range(horizon):
        cells = []
        for _, curve in named:
            if index >= len(curve["survival"]):
                cells.append("–")
                continue
            cells.append(f"{curve['survival'][index]:.2f} [{curve['low'][index]:.2f}, {curve['high'][index]:.2f}] "
                         f"({curve['at_risk'][index]})")
        lines.append(f"| {index + 1} | " + " | ".join(cells) + " |")
    incidence = [f"- {name}: " + ", ".join(f"{reason} {values[-1]:.2f}" for reason, values in curve["incidence"].items())
                 for name, curve in named if curve["incidence"]]
    if incidence:
        lines += ["", "Cumulative incidence at the last epoch per crash reason (competing risks):", *incidence]
    return "\n".join(lines)


def quality_table(study: str, summary: dict) -> str:
    """The performance profile in numbers: every classified run, crashed ones at their value."""
    lines = ["| group | classified runs | median amp_ssim | share reconstructed (≥ its floor + 0.20) "
             "| collapse floor (median) |",
             "|---|---|---|---|---|"]
    for name, group in summary_groups(study, summary):
        quality = group["quality"]
        lines.append(f"| {name} | {quality['runs']} | {_fmt(quality['median_amp_ssim'])} | "
                     f"{_fmt(quality['share_reconstructed'], 2)} | "
                     f"{_fmt(quality['collapse_floor'])} |")
    return "\n".join(lines)


def scale_note(profile: str | None) -> str | None:
    """What a profile other than the paper's trains, and that its P_crash is not the paper protocol's; None for
    the paper profile (or a profile the fixtures no longer define)."""
    if not profile or profile == "paper":
        return None
    try:
        used, paper = load_profile(profile), load_profile("paper")
    except UsageError:
        return None
    return (f"Profile {used.name} is a reduced-scale recipe ({used.scale}); its P_crash answers for that scale "
            f"and does not transfer to the paper protocol ({paper.scale}). For the paper protocol, on a GPU: "
            f"`pytest -m crashhunt --profile paper` (or `make gpu-reference` for a measured 9-minute sample).")


def decision_lines(summaries: dict) -> list[str]:
    lines = []
    for study, title in ((CRASH_HUNT, "Crash Hunt"), (SHOOTOUT, "Shootout")):
        if summaries.get(study):
            lines += [f"{title} (profile {summaries[study]['profile']}):", *[f"  {line}" for line in
                                                                               summaries[study]["decisions"]]]
            if summaries[study].get("depth_why"):
                lines.append(f"  at depth {summaries[study]['depth']}: {summaries[study]['depth_why']}")
    return lines


def terminal_table(summaries: dict) -> str:
    notes = {scale_note(summary["profile"]) for summary in summaries.values() if summary}
    parts = [note for note in notes if note] + ["\n".join(decision_lines(summaries))]
    if summaries.get(CRASH_HUNT):
        parts += [crash_hunt_table(summaries[CRASH_HUNT])]
    if summaries.get(SHOOTOUT):
        parts += [shootout_tables(summaries[SHOOTOUT])]
    return "\n\n".join(parts)


def probes_line(probes: list[dict] | None) -> str:
    """Which probe the runs saw and whether the twin image fits its data exactly."""
    if not probes:
        return "- probe: not recorded"
    def one(probe: dict) -> str:
        if probe["asymmetry"] is None:
            return f"**{probe['probe']}**"
        return f"**{probe['probe']}** ({twin_phrase(probe['asymmetry'], probe['exact_twin'])})"
    return (f"- probe{'s' if len(probes) > 1 else ''}: {', '.join(map(one, probes))}; its parameters are in each "
            "run's config.json")


def markdown_report(study: str, summary: dict, env: dict, plots: list[str]) -> str:
    title = {CRASH_HUNT: "Crash Hunt", SHOOTOUT: "Shootout"}[study]
    note = scale_note(summary["profile"])
    answer = [f"# {title} report", "", *([f"> {note}", ""] if note else []), "## The answer", "",
              *[f"- {line}" for line in summary["decisions"]],
              *([f"- at depth {summary['depth']}: {summary['depth_why']}"] if summary.get("depth_why") else []),
              "", design_line(summary["design"], study) + " " + operating_line(summary, study), ""]
    header = [
        "## How it was computed", "",
        f"- profile: **{summary['profile']}**",
        probes_line(summary.get("probes")),
        f"- generated: {env['generated']}; machine: {env['machine']}; GPU: {env['gpu'] or 'none'}",
        f"- versions: Python {env['python']}, torch {env['torch']}, lightning {env['lightning']}, numpy {env['numpy']}",
        f"- session wall time: {_fmt(env['wall_s'], 0)} s" if env.get("wall_s") is not None
        else "- session wall time: not known (rebuilt by `harness report`)",
        f"- training time summed over the runs: {_fmt(env.get('runs_wall_s'), 0)} s",
        f"- runs computed on: {env.get('run_devices') or 'not recorded'}",
        *([f"- **{len(summary['excluded_records'])} run record(s) excluded as invalid**: "
           + "; ".join(summary["excluded_records"])] if summary.get("excluded_records") else []),
        "", VERDICT_NOTE, "", *([MEASURED_NOTE, ""] if any(p.get("measured") for p in summary.get("probes") or [])
                                else []), PORTABILITY_NOTE, "", "## Counts", "", "",
    ]
    body = crash_hunt_table(summary) if study == CRASH_HUNT else shootout_tables(summary)
    body += ("\n\n## Survival over epochs\n\nKaplan–Meier: a crashed run fails at its onset epoch, ok (and "
             "interrupted) runs are censored at their last epoch; inconclusive, oom and infeasible runs are left "
             "out.\n\n"
             + survival_table(study, summary))
    body += ("\n\n## Reconstruction quality over all classified runs\n\n" + quality_table(study, summary))
    images = ["", *[f"![{name}]({name})" for name in plots]]
    return "\n".join(answer + header) + body + "\n" + "\n".join(images) + "\n"


def write_reports(summaries: dict, reports_dir: str | Path, *, wall_s: float | None = None,
                  records=()) -> list[Path]:
    """Write every summary present: JSON, Markdown and plots. Returns the files written.

    The set is made in a staging folder beside the reports and moves into place only when all of it
    was written: a failure (a full disk, an unreadable run) leaves the previous set as it was, never a
    mix. wall_s: the session's wall time, when a session wrote them; records give the summed run times.
    """
    reports_dir = Path(reports_dir)
    reports_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=reports_dir, prefix=".staging-"))
    try:
        made = _write_report_set(summaries, staging, wall_s, records)
        written = []
        for path in made:
            os.replace(path, reports_dir / path.name)
            written.append(reports_dir / path.name)
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _write_report_set(summaries: dict, reports_dir: Path, wall_s: float | None, records) -> list[Path]:
    base_env = environment(wall_s)
    written = []
    for study, summary in summaries.items():
        if not summary:
            continue
        of_study = [r for r in records if r.study == study]
        devices = sorted({f"{r.device} ({r.precision or 'precision not recorded'})" for r in of_study if r.device})
        env = {**base_env, "runs_wall_s": sum(r.wall_s or 0.0 for r in of_study),
               "run_devices": ", ".join(devices) or None}
        summary_path = reports_dir / SUMMARY_FILES[study]
        atomic_write_json(summary_path, {"scale_note": scale_note(summary["profile"]), **summary, "environment": env})
        plots = study_plots(study, summary, reports_dir)
        markdown_path = reports_dir / f"{study}_report.md"
        atomic_write_bytes(markdown_path, markdown_report(study, summary, env, [p.name for p in plots]).encode())
        written += [summary_path, markdown_path, *plots]
    return written


def load_summary(reports_dir: str | Path, study: str) -> dict | None:
    path = Path(reports_dir) / SUMMARY_FILES[study]
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None
