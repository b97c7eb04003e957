"""The report set is replaced whole or not at all."""

import json

import pytest

from harness.run.record import RunRecord
from harness.study import plots, report
from harness.study.aggregate import aggregate
from harness.study.report import write_reports


def summaries(outcome):
    return aggregate([RunRecord(study="crash_hunt", arm="control", architecture="hybrid", depth=4, seed=seed,
                                outcome=outcome, crashed=outcome == "crashed", reasons=("collapsed",) * (outcome ==
                                "crashed"), n_epochs=3, profile="smoke") for seed in (1, 2)])


def test_a_failure_while_writing_leaves_the_previous_set_whole(tmp_path, monkeypatch):
    first = write_reports(summaries("ok"), tmp_path)
    before = {path.name: path.read_bytes() for path in first}

    def broken_plots(study, summary, reports_dir):
        (reports_dir / "half_written.png").write_bytes(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(report, "study_plots", broken_plots)
    with pytest.raises(OSError):
        write_reports(summaries("crashed"), tmp_path)
    assert {path.name: path.read_bytes() for path in first} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(before)  # no staging folder, no partial file
    assert json.loads((tmp_path / "crash_hunt_summary.json").read_text())["depths"][0]["crashes"] == 0


def test_the_report_opens_with_the_answer(tmp_path):
    written = write_reports(summaries("crashed"), tmp_path)
    markdown = (tmp_path / "crash_hunt_report.md").read_text().splitlines()
    # a profile other than the paper's says first what it trains and that its P_crash is not the paper protocol's
    assert markdown[2].startswith("> Profile smoke is a reduced-scale recipe (N=64, width 32") and markdown[3] == ""
    assert "does not transfer to the paper protocol" in markdown[2]
    del markdown[2:4]
    assert markdown[:4] == ["# Crash Hunt report", "", "## The answer", ""]
    assert markdown[4].startswith("- depth 4: crashy (2 of 2 crashed, SPRT after 2 runs)")
    assert markdown[5].startswith("- crash depth 4 (fixed sequence from the deepest depth (4);")
    assert markdown[7].startswith("Design: sequential, up to 20 seeds per depth")
    assert "SPRT" in markdown[7] and "look" not in markdown[7]      # its own study's design, not the shootout's
    assert {p.name for p in written} >= {"crash_hunt_survival.png", "crash_hunt_quality.png", "crash_hunt_loss_curves.png"}


def test_empty_inputs_draw_a_labelled_panel(tmp_path, monkeypatch):
    drawn = []
    monkeypatch.setattr(plots, "_no_data", lambda axis, text: drawn.append(text) or axis.text(0.5, 0.5, text))
    inconclusive = summaries("inconclusive")["crash_hunt"]
    for make in (plots.loss_curves, plots.performance_profile_plot, plots.reconstructions_plot):
        assert make("crash_hunt", inconclusive, tmp_path / f"{make.__name__}.png").is_file()
    assert len(drawn) == 3 and all(text.startswith("no data") for text in drawn)


def test_the_report_names_the_probe_and_whether_its_twin_is_exact(tmp_path):
    def run(seed, probe, asymmetry):
        twin = {"probe_asymmetry": asymmetry, "exact_twin": asymmetry < 1e-6} if asymmetry is not None else {}
        return RunRecord(study="crash_hunt", arm=f"control@{probe}", architecture="hybrid", depth=4, seed=seed,
                         outcome="ok", n_epochs=3, profile="smoke", probe=probe, evidence={"twin": twin})
    records = [run(1, "fzp", None), run(2, "fzp", 0.474), run(1, "disk", 0.0)]   # the first run recorded no evidence
    write_reports(aggregate(records), tmp_path)
    markdown = (tmp_path / "crash_hunt_report.md").read_text()
    assert ("- probes: **disk** (|P| is point-symmetric: an object with the reflected amplitude fits every pattern "
            "exactly), **fzp** (|P| is point-asymmetric (0.474 at its best centre): no exact amplitude twin); its "
            "parameters are in each run's config.json") in markdown
    write_reports(summaries("ok"), tmp_path)  # records that name no probe say so
    assert "- probe: **not recorded**" in (tmp_path / "crash_hunt_report.md").read_text()


def test_the_scale_note_names_the_quick_scale_everywhere_and_is_absent_for_the_paper(tmp_path):
    import json

    from harness.study.report import scale_note, terminal_table

    quick = scale_note("quick")
    assert quick.startswith("Profile quick is a reduced-scale recipe (N=32, width 16, cap 128, 2116 training patches")
    assert "(N=64, width 32, cap 512, 6889 training patches of a 392 px object, 30 epochs)" in quick
    assert scale_note("paper") is None
    found = summaries("crashed")
    found["crash_hunt"]["profile"] = "quick"
    write_reports(found, tmp_path)
    assert json.loads((tmp_path / "crash_hunt_summary.json").read_text())["scale_note"] == quick
    assert terminal_table(found).splitlines()[0] == quick
    found["crash_hunt"]["profile"] = "paper"
    assert "reduced-scale" not in terminal_table(found)


def test_each_study_states_only_its_own_design():
    from harness.study.design import Design
    from harness.study.report import design_line

    for design in (Design(), Design(design="fixed")):
        hunt, shootout = design_line(design.as_dict(), "crash_hunt"), design_line(design.as_dict(), "shootout")
        assert "crashy" in hunt and "control" not in hunt
        assert "control" in shootout and "crashy" not in shootout and "SPRT" not in shootout
