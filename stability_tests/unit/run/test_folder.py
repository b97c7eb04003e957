"""The run folder: a finished record is read with its probe, also from folders written before records named it."""

import json
import shutil
from pathlib import Path

import pytest

from harness.run.folder import RunFolder

SMOKE = Path(__file__).parents[2] / "data" / "smoke_reference" / "adamw"   # written before probes had names


@pytest.mark.parametrize("data, probe", [
    ({}, "disk"),                                                  # before the probe was a setting: the disk
    ({"probe_source": "fzp", "probe_npz": None}, "fzp"),
    ({"probe_source": "disk", "probe_npz": "/data/measured.npz"}, "file measured.npz"),
])
def test_an_older_record_takes_its_probe_from_config_json(tmp_path, data, probe):
    shutil.copytree(SMOKE, tmp_path / "run")
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    config["data"] = {**{k: v for k, v in config["data"].items() if k not in ("probe_source", "probe_npz")}, **data}
    (tmp_path / "run" / "config.json").write_text(json.dumps(config))
    record = RunFolder(tmp_path / "run").finished_record()
    assert record.probe == probe and record.config_hash == config["config_hash"]


def test_a_record_that_names_its_probe_is_read_as_written(tmp_path):
    shutil.copytree(SMOKE, tmp_path / "run")
    stats = json.loads((tmp_path / "run" / "stats.json").read_text())
    (tmp_path / "run" / "stats.json").write_text(json.dumps({**stats, "probe": "fzp", "record_version": 3}))
    assert RunFolder(tmp_path / "run").finished_record().probe == "fzp"  # config.json (no probe_source) not asked


def test_the_temporaries_of_an_interrupted_write_are_removed_and_the_lock_kept(tmp_path):
    folder = RunFolder(tmp_path / "run")
    folder.path.mkdir()
    for name in (".checkpoint.pt.abc123.pt", ".model.pt.x1.pt", ".recon.npz.placing", ".lock", "stats.json"):
        (folder.path / name).write_bytes(b"")
    assert sorted(folder.remove_temporaries()) == [".checkpoint.pt.abc123.pt", ".model.pt.x1.pt", ".recon.npz.placing"]
    assert sorted(p.name for p in folder.path.iterdir()) == [".lock", "stats.json"]
