"""The report set is replaced whole or not at all."""

import json

import pytest

from harness.run.record import RunRecord
from harness.study import plots
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

    monkeypatch.setattr(plots, "study_plots", broken_plots)
    with pytest.raises(OSError):
        write_reports(summaries("crashed"), tmp_path)
    assert {path.name: path.read_bytes() for path in first} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(before)  # no staging folder, no partial file
    assert json.loads((tmp_path / "crash_hunt_summary.json").read_text())["depths"][0]["crashes"] == 0
