"""Each trained run in an experiment tracker, read back from what the tracker wrote: the CSV logger's files
through a real `harness run`, W&B offline through its run file; the group shared by a configuration's seeds."""

import csv
import importlib.util
import json
from dataclasses import replace

import pytest
import yaml

from harness.cli.main import main
from harness.run.config import RunConfig
from harness.run.record import RunRecord
from harness.run.tracking import TRACKERS, Group, track_run
from harness.train import TrainConfig
from stability_tests.tiny import TINY_DATASET, TINY_PLAN

RUN = ["run", "--profile", "smoke", "--N", "32", "--fno-width", "8", "--fno-modes", "4", "--fno-blocks", "2",
       "--threads", "1", "--torch-epochs", "2", "--nimgs-train", "1", "--nimgs-test", "1"]


def test_the_csv_logger_holds_every_epoch_and_the_verdict_of_a_real_run(tmp_path):
    folder = tmp_path / "run"
    assert main([*RUN, "--output-dir", str(folder)]) == 0          # csv is the default
    history = json.loads((folder / "history.json").read_text())["epochs"]
    stats = json.loads((folder / "stats.json").read_text())
    with open(folder / "logs" / "csv" / "metrics.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(row["step"]) for row in rows] == [epoch["epoch"] + 1 for epoch in history]
    assert [float(row["val_loss"]) for row in rows] == pytest.approx([epoch["val_loss"] for epoch in history])
    hparams = yaml.safe_load((folder / "logs" / "csv" / "hparams.yaml").read_text())
    assert hparams["verdict/outcome"] == stats["outcome"] and hparams["seed"] == str(stats["seed"])


def test_logger_none_writes_no_logs_and_a_bad_logger_is_refused_before_any_folder(tmp_path, usage_error):
    assert main([*RUN, "--output-dir", str(tmp_path / "quiet"), "--logger", "none"]) == 0
    assert not (tmp_path / "quiet" / "logs").exists()
    usage_error([*RUN, "--output-dir", str(tmp_path / "bad"), "--logger", "neptune"], "--logger neptune",
                [tmp_path / "bad"])
    for name, tracker in TRACKERS.items():
        if tracker.module and importlib.util.find_spec(tracker.module) is None:
            usage_error([*RUN, "--output-dir", str(tmp_path / name), "--logger", name], f"--logger {name}",
                        [tmp_path / name])


def test_the_seeds_of_one_configuration_share_a_group_and_other_configurations_do_not():
    config = RunConfig(model=TINY_PLAN, data=TINY_DATASET, train=TrainConfig(epochs=2, seed=1), profile="smoke",
                       study="crash_hunt", arm="control")
    seeds = {Group.of(config.with_seed(seed)) for seed in (1, 2, 3)}
    assert len(seeds) == 1
    deeper = replace(config, model=replace(TINY_PLAN, depth=3))
    other_rate = replace(config, train=replace(config.train, learning_rate=1e-4))
    assert len({Group.of(config), Group.of(deeper), Group.of(other_rate)}) == 3
    assert Group.of(config).name.startswith("crash_hunt/control/depth2-")


@pytest.mark.integration
@pytest.mark.skipif(importlib.util.find_spec("wandb") is None, reason="needs wandb: pip install -e .[trackers]")
def test_wandb_offline_logs_the_run_in_its_configuration_group_with_its_verdict(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wandb"))
    folder = tmp_path / "run"
    folder.mkdir()
    epochs = [{"epoch": 0, "val_loss": 0.31, "amp_ssim": 0.2}, {"epoch": 1, "val_loss": 0.21, "amp_ssim": 0.25}]
    (folder / "history.json").write_text(json.dumps({"epochs": epochs}))
    config = RunConfig(model=TINY_PLAN, data=TINY_DATASET, train=TrainConfig(epochs=2, seed=4), profile="smoke",
                       study="crash_hunt", arm="control")
    record = RunRecord(study="crash_hunt", arm="control", architecture="hybrid", depth=2, seed=4, outcome="crashed",
                       crashed=True, reasons=("collapsed",), onset_epoch=2, n_epochs=2)
    track_run("wandb", config, folder, record)
    import wandb

    wandb.teardown()   # the offline run file is written by wandb's service process: stopping it flushes the file
    (written,) = folder.glob("logs/wandb/offline-run-*/run-*.wandb")
    content = written.read_bytes()
    for expected in (Group.of(config).name, "verdict/outcome", "crashed", "collapsed", "val_loss", "amp_ssim"):
        assert expected.encode() in content, expected


def _seed_runs(tmp_path, name, seeds=(3, 4)):
    """Two seeds of one configuration logged to tracker `name`, from a written history and record."""
    for seed in seeds:
        folder = tmp_path / f"seed{seed}"
        folder.mkdir()
        epochs = [{"epoch": 0, "val_loss": 0.31, "amp_ssim": 0.2}, {"epoch": 1, "val_loss": 0.21, "amp_ssim": 0.25}]
        (folder / "history.json").write_text(json.dumps({"epochs": epochs}))
        config = RunConfig(model=TINY_PLAN, data=TINY_DATASET, train=TrainConfig(epochs=2, seed=seed),
                           profile="smoke", study="crash_hunt", arm="control")
        record = RunRecord(study="crash_hunt", arm="control", architecture="hybrid", depth=2, seed=seed,
                           outcome="ok", n_epochs=2)
        track_run(name, config, folder, record)
    return config


@pytest.mark.skipif(importlib.util.find_spec("tensorboard") is None,
                    reason="needs tensorboard: pip install -e .[trackers]")
def test_tensorboard_event_files_read_back_with_every_epoch(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    _seed_runs(tmp_path, "tensorboard", seeds=(3,))
    events = EventAccumulator(str(tmp_path / "seed3" / "logs" / "tensorboard"))
    events.Reload()
    assert [(e.step, round(e.value, 6)) for e in events.Scalars("val_loss")] == [(1, 0.31), (2, 0.21)]
    (verdict,) = events.Tensors("verdict/text_summary")
    assert b"verdict/outcome: ok" in verdict.tensor_proto.string_val[0]


@pytest.mark.integration
@pytest.mark.skipif(importlib.util.find_spec("mlflow") is None, reason="needs mlflow: pip install -e .[trackers]")
def test_mlflow_puts_the_seeds_under_one_parent_run_per_configuration(tmp_path, monkeypatch):
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    config = _seed_runs(tmp_path, "mlflow")
    client = MlflowClient(uri)
    runs = client.search_runs([client.get_experiment_by_name("crash_hunt").experiment_id])
    parents = [r for r in runs if r.data.tags.get("kind") == "configuration"]
    children = [r for r in runs if r.data.tags.get("kind") == "seed"]
    assert len(parents) == 1 and parents[0].info.run_name == Group.of(config).name
    assert len(children) == 2 and {r.data.tags["mlflow.parentRunId"] for r in children} == {parents[0].info.run_id}
    assert all(r.data.tags["verdict/outcome"] == "ok" and r.data.metrics["val_loss"] == 0.21 for r in children)
