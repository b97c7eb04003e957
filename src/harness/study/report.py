"""Write the study reports: summaries (JSON), a Markdown report with the tables, and PNG plots."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from ..environment import gpu_name, machine, versions
from ..run.record import outcome_label
from .aggregate import summary_groups
from .definitions import CRASH_HUNT, SHOOTOUT
from ..fsutil import atomic_write_bytes, atomic_write_json

VERDICT_NOTE = (
    "P_crash counts classified runs only: ok, or crashed (nonfinite; collapsed = constant output; "
    "wrong_solution = fits the measured data yet reconstructs no better than a constant image, named twin_image "
    "when its patches follow the point-reflected object; degraded = reconstructed the object, then lost it). "
    "Inconclusive (under-trained), oom and infeasible runs are listed beside it, not in it, unless "
    "--count-unfinished-as-crash. Intervals are exact 95% Clopper–Pearson. Onset epochs count from 1.")
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


def _interval(ci) -> str:
    return "–" if ci is None else f"[{ci[0]:.2f}, {ci[1]:.2f}]"


def _counts_cells(group: dict) -> str:
    return (f"{group['runs']} | {group['crashes']} | {_fmt(group['p_crash'], 2)} | {_interval(group['ci95'])} | "
            f"{group.get('inconclusive', 0)} | {group['oom']} | {group['infeasible']} | {group['errors']}")


COUNT_HEADER = "runs | crashes | P_crash | 95% CI | inconclusive | oom | infeasible | errors"


def crash_hunt_table(summary: dict) -> str:
    lines = [f"| depth | {COUNT_HEADER} | outcome per seed (onset epoch) |", "|---" * 10 + "|"]
    for depth in summary["depths"]:
        outcomes = ", ".join(f"{s['seed']}: {outcome_label(s)}" for s in depth["seeds"])
        lines.append(f"| {depth['depth']} | {_counts_cells(depth)} | {outcomes} |")
    lines.append("")
    lines.append(f"Crash depth: **{summary['crash_depth']}** ({summary['rule']}).")
    return "\n".join(lines + _inconclusive_advice(summary["depths"]))


def _inconclusive_advice(groups: list[dict]) -> list[str]:
    count = sum(g.get("inconclusive", 0) for g in groups)
    if not count:
        return []
    return ["", f"**{count} run(s) inconclusive**: under-trained at the end of their budget (they neither fit the "
            "measured diffraction nor reconstruct the object), so they are neither ok nor crashed and are listed "
            "beside P_crash, not in it. To classify them, train longer: more epochs (`--epochs`), or the `paper` "
            "profile on a GPU."]


def shootout_tables(summary: dict) -> str:
    lines = [f"Depth: **{summary['depth']}**", "", f"| arm | {COUNT_HEADER} |", "|---" * 9 + "|"]
    for arm in summary["arms"]:
        lines.append(f"| {arm['arm']} | {_counts_cells(arm)} |")
    lines += ["", "| arm | seed | outcome (onset epoch) | best val loss | fit error | amp SSIM | peak amp SSIM (epoch) |",
              "|---|---|---|---|---|---|---|"]
    for row in summary["rows"]:
        peak = "–" if row.get("peak_amp_ssim") is None else f"{row['peak_amp_ssim']:.3f} ({row.get('peak_epoch')})"
        lines.append(f"| {row['arm']} | {row['seed']} | {outcome_label(row)} | {_fmt(row['best_val_loss'], 4)} | "
                     f"{_fmt(row.get('fit_error'), 4)} | {_fmt(row['amp_ssim'])} | {peak} |")
    if summary["comparisons"]:
        lines += ["", "| comparison | test | p-value |", "|---|---|---|"]
        for comparison in summary["comparisons"]:
            lines.append(f"| {comparison['a']} vs {comparison['b']} | {comparison['test']} | "
                         f"{_fmt(comparison['p_value'])} |")
    return "\n".join(lines + _inconclusive_advice(summary["arms"]))


def survival_table(study: str, summary: dict) -> str:
    """Runs not yet failed at the end of each epoch, per depth or arm (the survival plot's numbers)."""
    named = [(name, g) for name, g in summary_groups(study, summary) if g["survival"]["runs"]]
    if not named:
        return "No classified runs: no survival curve."
    horizon = max(len(g["survival"]["epochs"]) for _, g in named)
    lines = ["| epoch | " + " | ".join(name for name, _ in named) + " |", "|---" * (len(named) + 1) + "|"]
    for index in range(horizon):
        cells = []
        for _, group in named:
            curve = group["survival"]
            cells.append(f"{curve['surviving'][index]}/{curve['runs']}" if index < len(curve["surviving"]) else "–")
        lines.append(f"| {index + 1} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def terminal_table(summaries: dict) -> str:
    parts = []
    if summaries.get(CRASH_HUNT):
        parts += ["Crash Hunt (profile %s)" % summaries[CRASH_HUNT]["profile"], crash_hunt_table(summaries[CRASH_HUNT])]
    if summaries.get(SHOOTOUT):
        parts += ["Shootout (profile %s)" % summaries[SHOOTOUT]["profile"], shootout_tables(summaries[SHOOTOUT])]
    return "\n\n".join(parts)


def markdown_report(study: str, summary: dict, env: dict, plots: list[str]) -> str:
    title = {CRASH_HUNT: "Crash Hunt", SHOOTOUT: "Shootout"}[study]
    header = [
        f"# {title} report", "",
        f"- profile: **{summary['profile']}**",
        f"- generated: {env['generated']}; machine: {env['machine']}; GPU: {env['gpu'] or 'none'}",
        f"- versions: Python {env['python']}, torch {env['torch']}, lightning {env['lightning']}, numpy {env['numpy']}",
        f"- session wall time: {_fmt(env['wall_s'], 0)} s" if env.get("wall_s") is not None
        else "- session wall time: not known (rebuilt by `harness report`)",
        f"- training time summed over the runs: {_fmt(env.get('runs_wall_s'), 0)} s",
        f"- runs computed on: {env.get('run_devices') or 'not recorded'}",
        "", VERDICT_NOTE, "", PORTABILITY_NOTE, "", "",
    ]
    body = crash_hunt_table(summary) if study == CRASH_HUNT else shootout_tables(summary)
    body += "\n\n## Survival over epochs\n\nClassified runs not yet failed at the end of each epoch (a crashed run " \
            "fails at its onset epoch).\n\n" + survival_table(study, summary)
    images = ["", *[f"![{name}]({name})" for name in plots]]
    return "\n".join(header) + body + "\n" + "\n".join(images) + "\n"


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
    from .plots import study_plots

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
        atomic_write_json(summary_path, {**summary, "environment": env})
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
