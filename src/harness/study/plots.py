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
from ..verdict import RECONSTRUCTED_MARGIN
from .aggregate import summary_groups
from .definitions import CRASH_HUNT

VERDICT_STYLES: dict[str, Any] = {"ok": "-", "crashed": "--", "inconclusive": ":"}
SURVIVAL_STYLES = ("-", "--", "-.", ":")
SURVIVAL_OFFSET = 0.012
OUTCOME_MARKERS = {"ok": "o", "crashed": "x", "inconclusive": "^"}


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
        stopped = group.get("decision", {}).get("after_stop")
        estimate, (low, high) = ((stopped["estimate"], stopped["interval"]) if stopped
                                 else (group["p_crash"], group["ci95"]))
        axis.errorbar([index - 0.08], [estimate], yerr=[[estimate - low], [high - estimate]], fmt="o", capsize=6,
                      color="black", label="classified runs (exact under the SPRT's stopping rule where it stopped, "
                      "else Clopper–Pearson)" if index == 0 else None)
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


def risk_difference_plot(summary: dict, path: Path) -> Path:
    """The shootout's decision per arm: the risk difference against the control with its repeated confidence
    interval (valid at whichever look stopped), the naive interval beside it, and the decision."""
    plt = _pyplot()
    shown = [c for c in summary["comparisons"] if c.get("risk_difference") is not None]
    figure, axis = plt.subplots(figsize=(3 + 2.4 * max(len(shown), 1), 4.5), constrained_layout=True)
    if not shown:
        _no_data(axis, "no data: no arm compared with the control")
        return _save(figure, path)
    axis.axhline(0.0, color="tab:gray", linewidth=1)
    for index, c in enumerate(shown):
        difference, (low, high) = c["risk_difference"], c["repeated_ci"] or c["ci95"]
        axis.errorbar([index], [difference], yerr=[[difference - low], [high - difference]], fmt="o", capsize=6,
                      color="black", linewidth=2, label="repeated CI (valid at the stop)" if index == 0 else None)
        naive_low, naive_high = c["ci95"]
        axis.errorbar([index + 0.15], [difference], yerr=[[difference - naive_low], [naive_high - difference]],
                      fmt="none", capsize=3, color="tab:gray", label="naive Newcombe 95%" if index == 0 else None)
        axis.annotate(f"{c['crashes']}/{c['runs']} vs {c['control_crashes']}/{c['control_runs']}",
                      (index, difference), textcoords="offset points", xytext=(6, 6), fontsize=8)
    labels = [f"{c['a']} vs {c['b']}\n" + c["decision"].replace(" (", "\n(") for c in shown]
    axis.set_xticks(range(len(shown)), labels, fontsize=8)
    axis.set_xlim(-0.6, len(shown) - 0.4)
    return _finish(figure, axis, path, xlabel="", ylabel="risk difference P_crash(arm) − P_crash(control)",
                   ylim=(-1.05, 1.05), title=f"shootout at depth {summary.get('depth')}: the decision per arm, "
                   f"profile {summary['profile']}")


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
    for index, (name, curve) in enumerate(named):
        # curves that coincide stay visible: each is drawn a little lower than the one before, in its own style
        offset = -SURVIVAL_OFFSET * index
        epochs = [0, *curve["epochs"]]
        colour, style = colours[name], SURVIVAL_STYLES[index % len(SURVIVAL_STYLES)]
        survival = np.array([1.0, *curve["survival"]]) + offset
        axis.step(epochs, survival, where="post", color=colour, linestyle=style, linewidth=1.8,
                  label=f"{name} ({curve['runs']} runs)" + (f", drawn {-offset:.2f} low" if offset else ""))
        axis.fill_between(epochs, [1.0, *curve["low"]], [1.0, *curve["high"]], step="post", color=colour, alpha=0.12)
        for epoch, value, censored in zip(curve["epochs"], survival[1:], curve["censored"]):
            if censored:   # one mark per epoch, with the number of runs it stands for
                axis.plot([epoch], [value], linestyle="none", marker="+", markersize=10, color=colour)
                if censored > 1:
                    axis.annotate(f"{censored}", (epoch, value), textcoords="offset points", xytext=(4, 3),
                                  fontsize=7, color=colour)
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
    return _finish(figure, axis, path, xlabel="epoch (+ marks censored runs, with their number when more than one)",
                   ylabel="not yet crashed (Kaplan–Meier, 95% band)",
                   title=f"{study.replace('_', ' ')}: survival over epochs, profile {summary['profile']}")


def performance_profile_plot(study: str, summary: dict, path: Path) -> Path:
    """The share of classified runs with final amp_ssim ≥ τ, every τ, with its bootstrap band; beneath it every
    run with an amp_ssim (inconclusive ones too, marked by outcome); the collapse floor and reconstructs line."""
    from matplotlib.lines import Line2D

    plt = _pyplot()
    groups = summary_groups(study, summary)
    colours = _colours([name for name, _ in groups])
    runs = [row for row in _rows(study, summary) if row.get("amp_ssim") is not None]
    figure, axis = plt.subplots(figsize=(8, 4.5), constrained_layout=True)
    if not runs:
        _no_data(axis, "no data: no run with an amp_ssim")
        return _save(figure, path)
    for name, group in groups:
        quality = group["quality"]
        if quality["runs"]:
            axis.step(quality["thresholds"], quality["fraction"], where="post", color=colours[name],
                      label=f"{name} ({quality['runs']} classified runs)")
            if quality.get("band_low"):
                axis.fill_between(quality["thresholds"], quality["band_low"], quality["band_high"], step="post",
                                  color=colours[name], alpha=0.12)
    names = [name for name, _ in groups]
    for row in runs:
        height = -0.04 - 0.035 * names.index(row["group"])
        axis.plot([row["amp_ssim"]], [height], linestyle="none", marker=OUTCOME_MARKERS.get(row["outcome"], "."),
                  color=colours[row["group"]], markersize=6, alpha=0.8)
    floors = [row["collapse_floor"] for row in runs if row.get("collapse_floor") is not None]
    if floors:
        floor = float(np.median(floors))
        axis.axvline(floor, color="tab:red", linestyle=":", label=f"collapse floor {floor:.2f}")
        axis.axvline(floor + RECONSTRUCTED_MARGIN, color="tab:green", linestyle=":",
                     label=f"reconstructs (floor + {RECONSTRUCTED_MARGIN})")
    handles = axis.get_legend_handles_labels()[0] + [
        Line2D([], [], color="black", marker=marker, linestyle="none", label=f"a run: {outcome}")
        for outcome, marker in OUTCOME_MARKERS.items() if any(row["outcome"] == outcome for row in runs)]
    axis.set_xlim(0, 1)
    return _finish(figure, axis, path, xlabel="τ (final amp SSIM)", handles=handles,
                   ylim=(-0.06 - 0.035 * len(names), 1.05),
                   ylabel="share of classified runs with amp SSIM ≥ τ (95% bootstrap band)",
                   title=f"{study.replace('_', ' ')}: performance profile (crashed runs included; every run beneath)")


def _median_run(rows: list[dict]) -> dict | None:
    """The median classified run by amp_ssim (of the inconclusive runs when none is classified)."""
    scored = [r for r in rows if r.get("amp_ssim") is not None]
    classified = sorted((r for r in scored if r["outcome"] in ("ok", "crashed")), key=lambda r: r["amp_ssim"])
    if not classified:
        classified = sorted((r for r in scored if r["outcome"] == "inconclusive"), key=lambda r: r["amp_ssim"])
    return classified[(len(classified) - 1) // 2] if classified else None


def _picks(rows: list[dict]) -> list[tuple[str, dict]]:
    """The median run of each depth or arm, side by side, then the first run of each crash reason."""
    picks = [(f"median of {group}", found) for group in dict.fromkeys(r["group"] for r in rows)
             if (found := _median_run([r for r in rows if r["group"] == group])) is not None]
    for reason in dict.fromkeys(reason for r in rows if r["outcome"] == "crashed" for reason in r.get("reasons") or ()):
        showing = [r for r in rows if r["outcome"] == "crashed" and reason in (r.get("reasons") or ())]
        unseen = [r for r in showing if all(r is not shown for _, shown in picks)]
        if unseen:  # a run already shown is not shown twice
            picks.append((reason, unseen[0]))
    return picks


def reconstructions_plot(study: str, summary: dict, path: Path) -> Path:
    """Amplitude of the truth, the median run of each depth or arm and one run per failure mode (not the best
    run), on one colour scale with its bar."""
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
    if not loaded:
        _no_data(axes[0], "no data: no reconstruction on disk")
        return _save(figure, path)
    # one colour scale for every panel, so that a brighter or flatter reconstruction reads as such
    shown = [np.abs(truth[0]) if truth is not None else np.zeros((1, 1)),
             *[np.nan_to_num(amplitude, posinf=0.0, neginf=0.0) for _, _, amplitude in loaded]]
    top = max(float(np.percentile(image, 99.5)) for image in shown) or 1.0
    image = axes[0].imshow(shown[0], cmap="gray", vmin=0.0, vmax=top)
    axes[0].set_title("ground truth amplitude" if truth is not None else "no ground truth (measured data)", fontsize=9)
    axes[0].axis("off")
    for axis, (title, row, _), amplitude in zip(axes[1:], loaded, shown[1:]):
        axis.imshow(amplitude, cmap="gray", vmin=0.0, vmax=top)
        ssim = row.get("amp_ssim")
        axis.set_title(f"{title}: {row['label']}\n{row['outcome']} (amp SSIM "
                       f"{'–' if ssim is None else f'{ssim:.3f}'})", fontsize=9)
        axis.axis("off")
    figure.colorbar(image, ax=list(axes), shrink=0.8, label="amplitude (one scale for all panels)")
    return _save(figure, path)


def study_plots(study: str, summary: dict, reports_dir: Path) -> list[Path]:
    first = [] if study == CRASH_HUNT else [risk_difference_plot(summary, reports_dir / f"{study}_risk_difference.png")]
    return first + [
        loss_curves(study, summary, reports_dir / f"{study}_loss_curves.png"),
        p_crash_plot(study, summary, reports_dir / f"{study}_p_crash.png"),
        survival_plot(study, summary, reports_dir / f"{study}_survival.png"),
        performance_profile_plot(study, summary, reports_dir / f"{study}_quality.png"),
        reconstructions_plot(study, summary, reports_dir / f"{study}_reconstructions.png"),
    ]
