"""`harness stats` on run folders, damaged ones included: one line naming the file, exit 2."""

import shutil

import pytest

from harness.run import RunConfig, RunFolder, execute_run
from harness.study.plots import reconstructions_plot
from harness.train import TrainConfig
from stability_tests.tiny import TINY_DATASET, TINY_PLAN

pytestmark = pytest.mark.integration  # trains one tiny run

CONFIG = RunConfig(model=TINY_PLAN, data=TINY_DATASET, train=TrainConfig(epochs=1), profile="test")


@pytest.fixture(scope="module")
def finished(tmp_path_factory, cache_dir):
    folder = tmp_path_factory.mktemp("finished") / "run"
    execute_run(CONFIG, folder, cache_dir=cache_dir)
    return folder


DAMAGE = [
    ("history.json", lambda path: path.write_text('{"epochs": ['), "history.json is not readable JSON"),
    ("history.json", lambda path: path.write_text("[]"), "history.json does not hold a run's history"),
    ("history.json", lambda path: path.write_text('{"epochs": [1, 2]}'), "history.json does not hold a run's epochs"),
    ("config.json", lambda path: path.write_text('{"x": 1}'), "config.json does not hold a run's config"),
    ("metrics.json", lambda path: path.write_text("nonsense"), "metrics.json is not readable JSON"),
    ("recon.npz", lambda path: path.write_bytes(path.read_bytes()[:100]), "recon.npz is not readable"),
    ("config.json", lambda path: path.unlink(), "config.json is missing"),
]


@pytest.mark.parametrize("name, damage, message", DAMAGE, ids=[m for _, _, m in DAMAGE])
def test_a_damaged_run_folder_is_one_line_naming_the_file(finished, tmp_path, usage_error, name, damage, message):
    folder = tmp_path / "run"
    shutil.copytree(finished, folder)
    damage(folder / name)
    usage_error(["stats", "--run-dir", str(folder), "--out-json", str(tmp_path / "out.json")], message,
                [tmp_path / "out.json"])


def test_an_unwritable_out_json_is_one_line(finished, usage_error):
    usage_error(["stats", "--run-dir", str(finished), "--out-json", "/proc/stats.json"], "--out-json /proc/stats.json",
                [])


def test_a_finished_run_with_a_damaged_artifact_is_trained_again_saying_so(finished, tmp_path, cache_dir, monkeypatch):
    from harness.study import plots

    folder = tmp_path / "run"
    shutil.copytree(finished, folder)
    (folder / "recon.npz").write_bytes((folder / "recon.npz").read_bytes()[:100])
    original = RunFolder(finished).finished_record()
    assert original.config_hash == CONFIG.config_hash
    damaged_summary = {"rows": [{**original.row(), "run_dir": str(folder), "label": "damaged"}]}
    said = []
    monkeypatch.setattr(plots, "_no_data", lambda axis, text: said.append(text))
    assert reconstructions_plot("shootout", damaged_summary, tmp_path / "plot.png").is_file()  # no traceback
    assert said == ["no data: no reconstruction on disk"]  # the unreadable run is not drawn
    lines = []
    record = execute_run(CONFIG, folder, cache_dir=cache_dir, progress=lines.append)
    assert not record.reused and any("not reused" in line and "recon.npz" in line for line in lines)
    assert RunFolder(folder).problem() is None and record.best_val_loss == original.best_val_loss
