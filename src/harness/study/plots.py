"""The study plots: loss curves coloured by verdict, P_crash with intervals, crashed vs healthy reconstruction."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..fsutil import atomic_save
from .aggregate import summary_groups
from .definitions import CRASH_HUNT

VERDICT_COLOURS = {"ok": "tab:green", "crashed": "tab:red", "inconclusive": "tab:gray"}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _rows(study: str, summary: dict) -> list[dict]:
    if study == CRASH_HUNT:
        return [{**seed, "label": f"depth {d['depth']} seed {seed['seed']}"} for d in summary["depths"] for seed in d["seeds"]]
    return [{**row, "label": f"{row['arm']} seed {row['seed']}"} for row in summary["rows"]]


def _history(row: dict) -> dict | None:
    if not row.get("run_dir"):
        return None
    try:
        return json.loads((Path(row["run_dir"]) / "history.json").read_text())
    except (OSError, ValueError):
        return None


def _save(figure, path: Path) -> Path:
    atomic_save(path, lambda temporary: figure.savefig(temporary, dpi=90, format="png"))
    _pyplot().close(figure)
    return path


def loss_curves(study: str, summary: dict, path: Path) -> Path | None:
    plt = _pyplot()
    curves = [(row, history) for row in _rows(study, summary) if row["outcome"] in VERDICT_COLOURS
              and (history := _history(row)) and history["epochs"]]
    if not curves:
        return None
    figure, axis = plt.subplots(figsize=(7, 4.5), constrained_layout=True)
    for row, history in curves:
        epochs = [e["epoch"] + 1 for e in history["epochs"]]
        losses = [np.nan if e["val_loss"] is None else e["val_loss"] for e in history["epochs"]]
        axis.plot(epochs, losses, color=VERDICT_COLOURS[row["outcome"]], alpha=0.8, marker=".", label=row["label"])
    axis.set_xlabel("epoch")
    axis.set_ylabel("validation loss")
    axis.set_yscale("log")
    axis.set_title(f"{study.replace('_', ' ')}: validation loss per run (green ok, red crashed, grey inconclusive)",
                   fontsize=10)
    axis.legend(fontsize=7, ncol=2)
    return _save(figure, path)


def p_crash_plot(study: str, summary: dict, path: Path) -> Path:
    """P_crash with its interval per depth or arm; groups without classified runs say what they hold instead."""
    plt = _pyplot()
    named = summary_groups(study, summary)
    names, groups = [name for name, _ in named], [group for _, group in named]
    figure, axis = plt.subplots(figsize=(6, 4), constrained_layout=True)
    for index, group in enumerate(groups):
        if not group["runs"]:
            unfinished = [f"{group[k]} {k}" for k in ("inconclusive", "oom", "infeasible", "errors") if group.get(k)]
            axis.annotate("no classified runs\n" + ", ".join(unfinished), (index, 0.5), ha="center", fontsize=8,
                          color="tab:gray")
            continue
        estimate = group["p_crash"]
        axis.errorbar([index], [estimate], yerr=[[estimate - group["ci95"][0]], [group["ci95"][1] - estimate]],
                      fmt="o", capsize=6, color="black")
        axis.annotate(f"{group['crashes']}/{group['runs']}", (index, estimate), textcoords="offset points",
                      xytext=(10, 0), fontsize=9)
    axis.set_xticks(range(len(groups)), names)
    axis.set_xlim(-0.6, len(groups) - 0.4)
    axis.set_ylim(-0.05, 1.05)
    axis.set_ylabel("P_crash (95% Clopper–Pearson)")
    axis.set_title(f"{study.replace('_', ' ')}: P_crash, profile {summary['profile']}")
    return _save(figure, path)


def reconstructions_plot(study: str, summary: dict, path: Path) -> Path | None:
    """A crashed and a healthy run side by side (amplitude), when the run folders are at hand."""
    plt = _pyplot()
    from ..run.folder import NotARunFolder, RunFolder

    def loaded(row):  # (row, reconstruction, truth) of a run whose recon.npz reads, else None
        try:
            reconstruction, truth = RunFolder(row["run_dir"]).load_reconstruction()
        except NotARunFolder:
            return None
        return row, np.abs(reconstruction[0]), np.abs(truth[0])

    rows = _rows(study, summary)
    picks = []
    for outcome in ("crashed", "ok", "inconclusive"):
        candidates = [r for r in rows if r["outcome"] == outcome and r.get("run_dir")]
        if outcome != "crashed":
            candidates.sort(key=lambda r: -(r.get("amp_ssim") or 0))
        pick = next((found for found in map(loaded, candidates) if found is not None), None)
        if pick is not None and len(picks) < 2:
            picks.append(pick)
    if not picks:
        return None
    figure, axes = plt.subplots(1, len(picks) + 1, figsize=(4 * (len(picks) + 1), 4), constrained_layout=True)
    truth = None
    for axis, (row, reconstruction, truth) in zip(axes[1:], picks):
        axis.imshow(np.nan_to_num(reconstruction), cmap="gray")
        axis.set_title(f"{row['label']}\n{row['outcome']} (amp SSIM {row.get('amp_ssim') or float('nan'):.3f})", fontsize=9)
        axis.axis("off")
    axes[0].imshow(truth, cmap="gray")
    axes[0].set_title("ground truth amplitude", fontsize=9)
    axes[0].axis("off")
    return _save(figure, path)


def survival_plot(study: str, summary: dict, path: Path) -> Path:
    """Fraction of classified runs not yet failed at each epoch, one step curve per depth or arm."""
    plt = _pyplot()
    named = summary_groups(study, summary)
    groups = [group for _, group in named]
    figure, axis = plt.subplots(figsize=(6.5, 4), constrained_layout=True)
    drawn = 0
    for name, group in named:
        curve = group["survival"]
        if not curve["runs"]:
            continue
        axis.step([0, *curve["epochs"]], [1.0, *curve["fraction"]], where="post", label=f"{name} ({curve['runs']} runs)")
        drawn += 1
    if drawn:
        axis.legend(fontsize=8)
    else:
        unfinished = sum(g.get("inconclusive", 0) + g["oom"] + g["infeasible"] for g in groups)
        axis.text(0.5, 0.5, f"no classified runs\n({unfinished} inconclusive, oom or infeasible)",
                  ha="center", va="center", transform=axis.transAxes)
    axis.set_ylim(-0.05, 1.05)
    axis.set_xlabel("epoch")
    axis.set_ylabel("fraction of runs not yet failed")
    axis.set_title(f"{study.replace('_', ' ')}: survival over epochs, profile {summary['profile']}", fontsize=10)
    return _save(figure, path)


def study_plots(study: str, summary: dict, reports_dir: Path) -> list[Path]:
    made = [
        loss_curves(study, summary, reports_dir / f"{study}_loss_curves.png"),
        p_crash_plot(study, summary, reports_dir / f"{study}_p_crash.png"),
        survival_plot(study, summary, reports_dir / f"{study}_survival.png"),
        reconstructions_plot(study, summary, reports_dir / f"{study}_reconstructions.png"),
    ]
    return [path for path in made if path is not None]
