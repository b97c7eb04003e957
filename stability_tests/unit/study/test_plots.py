"""The plots say what the decisions say: read back from the drawn figure (its artists), not from the PNG."""

import numpy as np
import pytest
from matplotlib.text import Annotation

from harness.run.record import RunRecord
from harness.study import plots
from harness.study.aggregate import aggregate, shootout_summary


@pytest.fixture
def drawn(monkeypatch):
    """The figure each plot function would save."""
    figures = []

    def keep(figure, path):
        figures.append(figure)
        return path
    monkeypatch.setattr(plots, "_save", keep)
    return figures


def record(arm, seed, outcome, depth=4, study="crash_hunt", n_epochs=5, amp_ssim=None, floor=None, onset=None):
    return RunRecord(study=study, arm=arm, architecture="hybrid", depth=depth, seed=seed, outcome=outcome,
                     crashed=outcome == "crashed", reasons=("nonfinite",) if outcome == "crashed" else (),
                     onset_epoch=onset, n_epochs=n_epochs, profile="smoke", amp_ssim=amp_ssim, collapse_floor=floor)


def test_coinciding_survival_curves_are_all_visible_and_censor_marks_carry_their_counts(drawn, tmp_path):
    runs = [record("control", seed, "ok", depth=depth) for depth in (4, 6) for seed in range(1, 10)]
    plots.survival_plot("crash_hunt", aggregate(runs)["crash_hunt"], tmp_path / "s.png")
    axis = drawn[0].axes[0]
    curves = [line for line in axis.get_lines() if line.get_drawstyle() == "steps-post"]
    assert len(curves) == 2 and not np.allclose(curves[0].get_ydata(), curves[1].get_ydata())
    assert curves[0].get_linestyle() != curves[1].get_linestyle()
    counts = [text.get_text() for text in axis.texts if isinstance(text, Annotation)]
    assert counts == ["9", "9"]   # each curve's one censor mark stands for its 9 runs


def test_the_shootout_plot_is_the_risk_difference_with_its_repeated_interval_and_decision(drawn, tmp_path):
    runs = [record("control", seed, "crashed" if seed <= 6 else "ok", study="shootout", onset=2) for seed in range(1, 11)]
    runs += [record("agc", seed, "ok", study="shootout") for seed in range(1, 11)]
    summary = shootout_summary(runs, seeds=list(range(1, 11)))
    comparison = summary["comparisons"][0]
    plots.risk_difference_plot(summary, tmp_path / "r.png")
    axis = drawn[0].axes[0]
    low, high = comparison["repeated_ci"]
    bars = [c for c in axis.collections if len(c.get_segments()) == 1]
    spans = {tuple(np.round(sorted(c.get_segments()[0][:, 1]), 6)) for c in bars}
    assert tuple(np.round([low, high], 6)) in spans and tuple(np.round(comparison["ci95"], 6)) in spans
    assert comparison["decision"] in axis.get_xticklabels()[0].get_text()


def test_the_quality_plot_shows_inconclusive_runs_against_the_floor_when_none_is_classified(drawn, tmp_path):
    runs = [record("control", seed, "inconclusive", amp_ssim=0.3 + 0.01 * seed, floor=0.28) for seed in (1, 2, 3)]
    plots.performance_profile_plot("crash_hunt", aggregate(runs)["crash_hunt"], tmp_path / "q.png")
    axis = drawn[0].axes[0]
    points = [line for line in axis.get_lines() if line.get_marker() == plots.OUTCOME_MARKERS["inconclusive"]
              and len(line.get_xdata()) == 1]
    assert sorted(float(p.get_xdata()[0]) for p in points) == pytest.approx([0.31, 0.32, 0.33])
    floors = sorted(float(line.get_xdata()[0]) for line in axis.get_lines() if line.get_linestyle() == ":")
    assert floors == pytest.approx([0.28, 0.48])


def test_the_reconstructions_share_one_colour_scale_with_a_bar(drawn, tmp_path, monkeypatch):
    truth = np.ones((1, 8, 8), dtype=complex)
    images = {"a": np.full((1, 8, 8), 3.0), "b": np.full((1, 8, 8), 0.5)}

    class Folder:
        def __init__(self, path):
            self.name = str(path)

        def load_reconstruction(self):
            return images[self.name], truth
    monkeypatch.setattr(plots, "RunFolder", Folder)
    runs = [record("control", 1, "ok", depth=4, amp_ssim=0.9), record("control", 2, "ok", depth=6, amp_ssim=0.1)]
    summary = aggregate(runs)["crash_hunt"]
    for group, name in zip(summary["depths"], ("a", "b")):
        group["seeds"][0]["run_dir"] = name
    plots.reconstructions_plot("crash_hunt", summary, tmp_path / "x.png")
    figure = drawn[0]
    shown = [image for axis in figure.axes for image in axis.get_images()]
    assert len(shown) == 3 and all(image.get_clim() == (0.0, pytest.approx(3.0)) for image in shown)
    assert len(figure.axes) == 4   # three panels and the colour bar
