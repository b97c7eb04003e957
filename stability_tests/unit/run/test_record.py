"""The run record: stats.json's typed form, its versions, and its views."""

import json
from pathlib import Path

import pytest

from harness.run.record import RECORD_VERSION, RunRecord, outcome_label, upgrade

# stats.json written before the record had a version (a trained run and an untrained one)
OLD_STATS = json.loads((Path(__file__).parents[2] / "data" / "smoke_reference" / "adamw" / "stats.json").read_text())
OLD_INFEASIBLE = {"study": "crash_hunt", "arm": "control", "architecture": "hybrid", "depth": 8, "seed": 1,
                  "profile": "quick", "device": "cpu", "config_hash": "abc", "outcome": "infeasible", "crashed": False,
                  "reasons": [], "message": "depth 8 needs 7 halvings", "wall_s": 0.01, "params": None,
                  "environment": {"device": "cpu"}}


def test_an_old_stats_file_loads_and_writes_back_the_same_fields_and_the_version():
    record = RunRecord.from_json(OLD_STATS)
    assert (record.outcome, record.seed, record.config_hash) == ("inconclusive", 11, "c25fc44502cef788")
    assert record.reasons == () and record.evidence["twin"]["patches"] == 49
    written = record.to_json()
    assert written == {**OLD_STATS, "record_version": RECORD_VERSION, "probe": None}  # its folder names the probe


def test_an_untrained_run_of_the_old_form_loads_with_its_message():
    record = RunRecord.from_json(OLD_INFEASIBLE, run_dir="runs/x")
    assert record.outcome == "infeasible" and not record.crashed and not record.classified
    assert record.message == "depth 8 needs 7 halvings" and record.run_dir == "runs/x"
    assert record.amp_ssim is None and record.label == "infeasible"


def test_the_json_form_round_trips_and_keeps_session_fields_out_of_the_file():
    record = RunRecord.from_json(OLD_STATS).replace(run_dir="runs/a", reused=True)
    assert "run_dir" not in record.to_json() and "reused" not in record.to_json()
    assert RunRecord.from_json(record.to_json(transient=True)) == record
    assert RunRecord.from_json(record.to_json(transient=True)).run_dir == "runs/a"
    assert json.loads(json.dumps(record.to_json())) == record.to_json()  # plain JSON values only


def test_non_finite_values_become_null():
    record = RunRecord.from_json(OLD_STATS).replace(best_val_loss=float("nan"), evidence={"fit_error": float("inf")})
    payload = record.to_json()
    assert payload["best_val_loss"] is None and payload["evidence"]["fit_error"] is None


def test_a_newer_record_is_refused():
    with pytest.raises(ValueError, match="newer"):
        upgrade({**OLD_STATS, "record_version": RECORD_VERSION + 1})


def test_labels_and_rows_say_the_outcome_with_reasons_and_onset():
    crashed = RunRecord.from_json(OLD_STATS).replace(outcome="crashed", crashed=True,
                                                     reasons=("wrong_solution", "twin_image"), onset_epoch=3)
    assert crashed.label == "crashed (wrong_solution, twin_image, from epoch 3)"
    assert outcome_label(crashed.row()) == crashed.label
    assert crashed.row()["reasons"] == ["wrong_solution", "twin_image"] and crashed.row()["seed"] == 11
