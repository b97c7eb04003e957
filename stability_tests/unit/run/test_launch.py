"""Launching a group of runs: each in its folder with its progress.log, the launch's settings taking effect; and
which device a process's runs get."""

import torch

from harness.run import launch
from harness.run.launch import Launch, launch_group, worker_placement
from harness.train.checkpoint import CHECKPOINT_NAME, CheckpointPolicy


def test_a_group_trains_each_run_into_its_folder_with_its_own_log(tmp_path, cache_dir, configs_of):
    group = configs_of([1, 2], epochs=1)
    folders = [tmp_path / "a", tmp_path / "b"]
    said = {1: [], 2: []}
    records = launch_group(group, folders, Launch(cache_dir=cache_dir), [said[1].append, said[2].append])
    assert [record.seed for record in records] == [1, 2]
    assert [record.run_dir for record in records] == [str(folder) for folder in folders]
    for seed, folder in zip((1, 2), folders):
        log = (folder / "progress.log").read_text().splitlines()
        assert log and log == said[seed]              # every line in the log and to its `say`, nothing else
        assert any("epoch 1/1" in line for line in log)


def test_the_launch_settings_take_effect(tmp_path, cache_dir, configs_of):
    (config,) = configs_of([1], epochs=2)          # a checkpoint after epoch 1; the last epoch ends in the record
    folder = tmp_path / "run"
    first, = launch_group([config], [folder], Launch(cache_dir=cache_dir, checkpoints=CheckpointPolicy(interval_s=0,
                                                                                                        keep=True)),
                          [lambda line: None])
    assert (folder / CHECKPOINT_NAME).is_file()                     # keep: the last checkpoint stays
    reused, = launch_group([config], [folder], Launch(cache_dir=cache_dir), [lambda line: None])
    assert reused.reused and reused == first
    retrained, = launch_group([config], [folder], Launch(rerun=True, cache_dir=cache_dir), [lambda line: None])
    assert not retrained.reused and not (folder / CHECKPOINT_NAME).exists()   # rerun: trained anew, not kept
    assert sorted(p.name for p in cache_dir.iterdir())                         # the cache folder given was used


def test_one_gpu_per_xdist_worker_and_a_fixed_thread_count_on_a_cpu(monkeypatch):
    assert worker_placement("cpu", 2, worker=3) == ("cpu", 2)
    monkeypatch.setattr(launch, "resolve_device", lambda device: "cuda")
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert worker_placement("auto", 2, worker=3) == ("cuda:1", None)
    assert worker_placement("auto", 2, worker=None) == ("cuda", None)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert worker_placement("auto", 2, worker=3) == ("cuda", None)
