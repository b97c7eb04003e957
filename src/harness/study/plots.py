"""The study plots: loss curves coloured by depth or arm and styled by verdict, P_crash with intervals,
Kaplan–Meier survival with bands, censor marks and runs at risk, the performance profile, and the
reconstructions of the median run and of each failure mode. An empty input draws a labelled panel."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..fsutil import atomic_save
from ..run.folder import NotARunFolder, RunFolder
from .aggregate import summary_groups
from .definitions import CRASH_HUNT

VERDICT_STYLES: dict[str, Any] = {"ok": "-", "crashed": "--", "inconclusive": ":"}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _colours(names: list[str]) -> dict[str, str]:
    cycle = _pyplot().rcParams["axes.prop_cycle"].by_key()["color"]
    return {name: cycle[index % len(cycle)] for index, name in enumerate(names)}


def _rows(study: str, summary: dict) -> list[dict]:
    """Every run's row with its group (depth or arm) and a label."""
    if study == CRASH_HUNT:
        return [{**seed, "group": name, "label": f"{name} seed {seed['seed']}"}
                for name, d in summary_groups(study, summary) for seed in d["seeds"]]
    return [{**row, "group": row["arm"], "label": f"{row['arm']} seed {row['seed']}"} for row in summary["rows"]]


def _history(row: dict) -> dict | None:
    if not row.get("run_dir"):
        return None
    try:
        return json.loads((Path(row["run_dir"]) / "history.json").read_text())
    except (OSError, ValueError):
        return None


def _no_data(axis, text: str) -> None:
    axis.text(0.5, 0.5, text, ha="center", va="center", transform=axis.transAxes, color="tab:gray", fontsize=10)
    axis.set_xticks([])
    axis.set_yticks([])


def _save(figure, path: Path) -> Path:
    atomic_save(path, lambda temporary: figure.savefig(temporary, dpi=90, format="png", bbox_inches="tight"))
    _pyplot().close(figure)
    return path


def _legend_outside(axis, handles=None) -> None:
    """The legend beside the axes, never over the data."""
    if handles or axis.get_legend_handles_labels()[0]:
        axis.legend(handles=handles, fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)


def _finish(figure, axis, path: Path, *, xlabel: str, ylabel: str, title: str, ylim=(-0.05, 1.05),
            handles=None) -> Path:
    """Labels, a title, the legend outside the data, and the file."""
    if ylim is not None:
        axis.set_ylim(*ylim)
    axis.set_xlabel(xlabel)
    axis.set_ylabel(ylabel)
    axis.set_title(title, fontsize=10)
    _legend_outside(axis, handles)
    return _save(figure, path)


def loss_curves(study: str, summary: dict, path: Path) -> Path:
    """Validation loss per run: the colour is its depth or arm, the line style its verdict."""
    from matplotlib.lines import Line2D

    plt = _pyplot()
    names = [name for name, _ in summary_groups(study, summary)]
    colours = _colours(names)
    figure, axis = plt.subplots(figsize=(8, 4.5), constrained_layout=True)
    curves = [(row, history) for row in _rows(study, summary) if row["outcome"] in VERDICT_STYLES
              and (history := _history(row)) and history["epochs"]]
    for row, history in curves:
        epochs = [e["epoch"] + 1 for e in history["epochs"]]
        losses = [np.nan if e["val_loss"] is None else e["val_loss"] for e in history["epochs"]]
        axis.plot(epochs, losses, color=colours[row["group"]], linestyle=VERDICT_STYLES[row["outcome"]], alpha=0.8,
                  marker=".")
    handles = None
    if not curves:
        _no_data(axis, "no data: no run with a training history")
    else:
        axis.set_yscale("log")
        shown = {row["group"] for row, _ in curves}
        outcomes = {row["outcome"] for row, _ in curves}
        handles = [Line2D([], [], color=colours[name], label=name) for name in names if name in shown]
        handles += [Line2D([], [], color="black", linestyle=style, label=outcome)
                    for outcome, style in VERDICT_STYLES.items() if outcome in outcomes]
    return _finish(figure, axis, path, xlabel="epoch", ylabel="validation loss", ylim=None, handles=handles,
                   title=f"{study.replace('_', ' ')}: validation loss per run")


def p_crash_plot(study: str, summary: dict, path: Path) -> Path:
    """P_crash with its exact interval and the Kaplan–Meier estimate per depth or arm, with each decision."""
    plt = _pyplot()
    named = summary_groups(study, summary)
    figure, axis = plt.subplots(figsize=(6.5, 4), constrained_layout=True)
    if not named:
        _no_data(axis, "no data: no runs")
        return _save(figure, path)
    labels = []
    for index, (name, group) in enumerate(named):
        decision = group.get("decision", {}).get("decision")
        labels.append(f"{name}\n{decision}" if decision else name)
        if not group["runs"]:
            unfinished = [f"{group[k]} {k}" for k in ("inconclusive", "oom", "infeasible", "errors", "interrupted")
                          if group.get(k)]
            axis.annotate("no classified runs\n" + ", ".join(unfinished), (index, 0.5), ha="center", fontsize=8,
                          color="tab:gray")
            continue
        estimate = group["p_crash"]
        axis.errorbar([index - 0.08], [estimate], yerr=[[estimate - group["ci95"][0]], [group["ci95"][1] - estimate]],
                      fmt="o", capsize=6, color="black", label="classified runs (Clopper–Pearson)" if index == 0 else None)
        axis.annotate(f"{group['crashes']}/{group['runs']}", (index - 0.08, estimate), textcoords="offset points",
                      xytext=(-28, 0), fontsize=9)
        km = group["survival"]
        if km.get("ci95"):
            axis.errorbar([index + 0.08], [km["p_crash"]], yerr=[[km["p_crash"] - km["ci95"][0]],
                                                                 [km["ci95"][1] - km["p_crash"]]],
                          fmt="s", capsize=4, color="tab:blue", label="Kaplan–Meier (censored)" if index == 0 else None)
    axis.set_xticks(range(len(named)), labels)
    axis.set_xlim(-0.6, len(named) - 0.4)
    return _finish(figure, axis, path, xlabel="", ylabel="P_crash (95% interval)",
                   title=f"{study.replace('_', ' ')}: P_crash, profile {summary['profile']}")


def survival_plot(study: str, summary: dict, path: Path) -> Path:
    """Kaplan–Meier curves with 95% bands and censor marks, and the runs at risk per epoch beneath."""
    from matplotlib.transforms import blended_transform_factory

    plt = _pyplot()
    named = [(name, group["survival"]) for name, group in summary_groups(study, summary) if group["survival"]["runs"]]
    colours = _colours([name for name, _ in named])
    figure, axis = plt.subplots(figsize=(8, 4.5 + 0.25 * len(named)), constrained_layout=True)
    if not named:
        _no_data(axis, "no data: no run trained (oom or infeasible runs are left out)")
        return _save(figure, path)
    for name, curve in named:
        epochs = [0, *curve["epochs"]]
        colour = colours[name]
        axis.step(epochs, [1.0, *curve["survival"]], where="post", color=colour, label=f"{name} ({curve['runs']} runs)")
        axis.fill_between(epochs, [1.0, *curve["low"]], [1.0, *curve["high"]], step="post", color=colour, alpha=0.15)
        marks = [(e, s) for e, s, c in zip(curve["epochs"], curve["survival"], curve["censored"]) for _ in range(min(c, 1))]
        if marks:
            axis.plot(*zip(*marks), linestyle="none", marker="+", markersize=10, color=colour)
    horizon = max(len(curve["epochs"]) for _, curve in named)
    ticks = list(range(1, horizon + 1, max(1, horizon // 10)))
    axis.set_xticks(ticks)
    under = blended_transform_factory(axis.transData, axis.transAxes)  # x in epochs, y below the axis
    for row, (name, curve) in enumerate(named):
        height = -0.2 - 0.07 * row
        axis.text(0, height, f"at risk, {name}", transform=under, ha="right", va="center", fontsize=8,
                  color=colours[name])
        for tick in ticks:
            if tick - 1 < len(curve["at_risk"]):
                axis.text(tick, height, str(curve["at_risk"][tick - 1]), transform=under, ha="center", va="center",
                          fontsize=8, color=colours[name])
    axis.set_xlim(0, horizon + 0.5)
    return _finish(figure, axis, path, xlabel="epoch (+ marks a censored run)",
                   ylabel="not yet crashed (Kaplan–Meier, 95% band)",
                   title=f"{study.replace('_', ' ')}: survival over epochs, profile {summary['profile']}")


def performance_profile_plot(study: str, summary: dict, path: Path) -> Path:
    """The share of classified runs with final amp_ssim ≥ τ, every τ; collapse floor and reconstructs line."""
    plt = _pyplot()
    named = [(name, group["quality"]) for name, group in summary_groups(study, summary) if group["quality"]["runs"]]
    colours = _colours([name for name, _ in named])
    figure, axis = plt.subplots(figsize=(8, 4), constrained_layout=True)
    if not named:
        _no_data(axis, "no data: no classified run with an amp_ssim")
        return _save(figure, path)
    for name, quality in named:
        axis.step(quality["thresholds"], quality["fraction"], where="post", color=colours[name],
                  label=f"{name} ({quality['runs']} runs)")
    floors = [q["collapse_floor"] for _, q in named if q["collapse_floor"] is not None]
    if floors:
        floor = float(np.median(floors))
        axis.axvline(floor, color="tab:red", linestyle=":", label=f"collapse floor {floor:.2f}")
        lines = [q["reconstructs"] for _, q in named if q["reconstructs"] is not None]
        axis.axvline(float(np.median(lines)), color="tab:green", linestyle=":", label="reconstructs (floor + 0.20)")
    axis.set_xlim(0, 1)
    return _finish(figure, axis, path, xlabel="τ (final amp SSIM)", ylabel="share of classified runs with amp SSIM ≥ τ",
                   title=f"{study.replace('_', ' ')}: performance profile (crashed runs included)")


def _picks(rows: list[dict]) -> list[tuple[str, dict]]:
    """The median classified run (by amp_ssim; of the inconclusive runs when none is classified) and the first
    run of each crash reason."""
    scored = [r for r in rows if r.get("amp_ssim") is not None]
    classified = sorted((r for r in scored if r["outcome"] in ("ok", "crashed")), key=lambda r: r["amp_ssim"])
    if not classified:
        classified = sorted((r for r in scored if r["outcome"] == "inconclusive"), key=lambda r: r["amp_ssim"])
    picks = [("median run", classified[(len(classified) - 1) // 2])] if classified else []
    for reason in dict.fromkeys(reason for r in rows if r["outcome"] == "crashed" for reason in r.get("reasons") or ()):
        showing = [r for r in rows if r["outcome"] == "crashed" and reason in (r.get("reasons") or ())]
        unseen = [r for r in showing if all(r is not shown for _, shown in picks)]
        if unseen:  # a run already shown is not shown twice
            picks.append((reason, unseen[0]))
    return picks


def reconstructions_plot(study: str, summary: dict, path: Path) -> Path:
    """Amplitude of the truth, the median run and one run per failure mode (not the best run)."""
    plt = _pyplot()
    loaded, truth = [], None
    for title, row in _picks(_rows(study, summary)):
        try:
            reconstruction, truth = RunFolder(row["run_dir"]).load_reconstruction() if row.get("run_dir") else (None, None)
        except NotARunFolder:
            continue
        if reconstruction is not None:
            loaded.append((title, row, np.abs(reconstruction[0])))
    figure, axes = plt.subplots(1, len(loaded) + 1, figsize=(3.6 * (len(loaded) + 1), 3.8), constrained_layout=True,
                                squeeze=False)
    axes = axes[0]
    if truth is None:
        _no_data(axes[0], "no data: no reconstruction on disk")
        return _save(figure, path)
    axes[0].imshow(np.abs(truth[0]), cmap="gray")
    axes[0].set_title("ground truth amplitude", fontsize=9)
    axes[0].axis("off")
    for axis, (title, row, amplitude) in zip(axes[1:], loaded):
        axis.imshow(np.nan_to_num(amplitude), cmap="gray")
        ssim = row.get("amp_ssim")
        axis.set_title(f"{title}: {row['label']}\n{row['outcome']} (amp SSIM "
                       f"{'–' if ssim is None else f'{ssim:.3f}'})", fontsize=9)
        axis.axis("off")
    return _save(figure, path)


def study_plots(study: str, summary: dict, reports_dir: Path) -> list[Path]:
    return [
        loss_curves(study, summary, reports_dir / f"{study}_loss_curves.png"),
        p_crash_plot(study, summary, reports_dir / f"{study}_p_crash.png"),
        survival_plot(study, summary, reports_dir / f"{study}_survival.png"),
        performance_profile_plot(study, summary, reports_dir / f"{study}_quality.png"),
        reconstructions_plot(study, summary, reports_dir / f"{study}_reconstructions.png"),
    ]
