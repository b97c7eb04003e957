"""Write the study reports: summaries (JSON), a Markdown report with the tables, and PNG plots."""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

from ..fsutil import atomic_write_bytes, atomic_write_json

SUMMARY_FILES = {"crash_hunt": "crash_hunt_summary.json", "shootout": "shootout_results.json"}


def _cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(wall_s: float | None = None) -> dict:
    """Versions, machine and wall time for report headers."""
    import lightning
    import numpy
    import torch

    return {
        "generated": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": f"{_cpu_model()}, {_cpu_count()} CPUs, {platform.machine()}",
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "lightning": lightning.__version__,
        "numpy": numpy.__version__,
        "wall_s": wall_s,
    }


def _cpu_count() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def _fmt(value, digits=3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _interval(ci) -> str:
    return "–" if ci is None else f"[{ci[0]:.2f}, {ci[1]:.2f}]"


def crash_hunt_table(summary: dict) -> str:
    lines = ["| depth | runs | crashes | P_crash | 95% CI | oom | infeasible | errors | outcomes per seed |",
             "|---|---|---|---|---|---|---|---|---|"]
    for depth in summary["depths"]:
        outcomes = ", ".join(f"{s['seed']}: {_outcome_label(s)}" for s in depth["seeds"])
        lines.append(f"| {depth['depth']} | {depth['runs']} | {depth['crashes']} | {_fmt(depth['p_crash'], 2)} | "
                     f"{_interval(depth['ci95'])} | {depth['oom']} | {depth['infeasible']} | {depth['errors']} | {outcomes} |")
    lines.append("")
    lines.append(f"Crash depth: **{summary['crash_depth']}** ({summary['rule']}).")
    return "\n".join(lines)


def _outcome_label(row: dict) -> str:
    if row["outcome"] == "crashed":
        return "crashed (" + "+".join(row["reasons"]) + ")"
    return row["outcome"]


def shootout_tables(summary: dict) -> str:
    lines = [f"Depth: **{summary['depth']}**", "",
             "| arm | runs | crashes | P_crash | 95% CI | oom | infeasible | errors |", "|---|---|---|---|---|---|---|---|"]
    for arm in summary["arms"]:
        lines.append(f"| {arm['arm']} | {arm['runs']} | {arm['crashes']} | {_fmt(arm['p_crash'], 2)} | "
                     f"{_interval(arm['ci95'])} | {arm['oom']} | {arm['infeasible']} | {arm['errors']} |")
    lines += ["", "| arm | seed | outcome | best val loss | amp SSIM |", "|---|---|---|---|---|"]
    for row in summary["rows"]:
        lines.append(f"| {row['arm']} | {row['seed']} | {_outcome_label(row)} | {_fmt(row['best_val_loss'], 4)} | "
                     f"{_fmt(row['amp_ssim'])} |")
    if summary["comparisons"]:
        lines += ["", "| comparison | test | p-value |", "|---|---|---|"]
        for comparison in summary["comparisons"]:
            lines.append(f"| {comparison['a']} vs {comparison['b']} | {comparison['test']} | {comparison['p_value']:.3f} |")
    return "\n".join(lines)


def terminal_table(summaries: dict) -> str:
    parts = []
    if summaries.get("crash_hunt"):
        parts += ["Crash Hunt (profile %s)" % summaries["crash_hunt"]["profile"], crash_hunt_table(summaries["crash_hunt"])]
    if summaries.get("shootout"):
        parts += ["Shootout (profile %s)" % summaries["shootout"]["profile"], shootout_tables(summaries["shootout"])]
    return "\n\n".join(parts)


def markdown_report(study: str, summary: dict, env: dict, plots: list[str]) -> str:
    title = {"crash_hunt": "Crash Hunt", "shootout": "Shootout"}[study]
    header = [
        f"# {title} report", "",
        f"- profile: **{summary['profile']}**",
        f"- generated: {env['generated']}; machine: {env['machine']}; GPU: {env['gpu'] or 'none'}",
        f"- versions: Python {env['python']}, torch {env['torch']}, lightning {env['lightning']}, numpy {env['numpy']}",
        f"- session wall time: {_fmt(env['wall_s'], 0)} s" if env.get("wall_s") is not None
        else "- session wall time: not known (rebuilt by `harness report`)",
        f"- training time summed over the runs: {_fmt(env.get('runs_wall_s'), 0)} s",
        "", "P_crash counts completed runs only (ok or crashed: nonfinite or collapsed); oom and infeasible runs "
        "are listed beside it. Intervals are exact 95% Clopper–Pearson.", "", "",
    ]
    body = crash_hunt_table(summary) if study == "crash_hunt" else shootout_tables(summary)
    images = ["", *[f"![{name}]({name})" for name in plots]]
    return "\n".join(header) + body + "\n" + "\n".join(images) + "\n"


def write_reports(summaries: dict, reports_dir: str | Path, *, wall_s: float | None = None,
                  records: list[dict] = ()) -> list[Path]:
    """Write every summary present: JSON, Markdown and plots. Returns the files written.

    wall_s: the session's wall time, when a session wrote them; records give the summed run times.
    """
    from .plots import study_plots

    reports_dir = Path(reports_dir)
    reports_dir.mkdir(parents=True, exist_ok=True)
    base_env = environment(wall_s)
    written = []
    for study, summary in summaries.items():
        if not summary:
            continue
        env = {**base_env, "runs_wall_s": sum(r.get("wall_s") or 0.0 for r in records if r["study"] == study)}
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
