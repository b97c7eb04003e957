"""Preemption-safe runs: checkpoints, bit-exact resume, refusals, SIGTERM to `harness run`."""

import importlib
import json
import os
import signal
import subprocess
import sys

import pytest
import torch

from harness.run import execute_run
from harness.train.checkpoint import (
    CHECKPOINT_FORMAT,
    CHECKPOINT_NAME,
    CheckpointPolicy,
    CheckpointRefused,
    digest_path,
    file_sha256,
)
from harness.train.interrupt import REQUEUE_EXIT_STATUS, RunInterrupted, StopRequest

fit_module = importlib.import_module("harness.train.trainer")  # the module (the package re-exports the function)

TIMING_KEYS = ("train_s", "wall_s")
VERDICT_KEYS = ("outcome", "reasons", "amp_ssim", "phase_ssim", "amp_mae", "best_val_loss", "final_val_loss",
                "fit_error", "onset_epoch", "peak_amp_ssim", "peak_epoch", "n_epochs", "stop_reason",
                "grad_norm_mean", "grad_norm_max", "grad_norm_p99", "evidence")
ARMS = {
    "adam-warmup-cosine": {"scheduler": "WarmupCosine", "warmup_epochs": 1, "min_lr_ratio": 0.05, "grad_clip": 1.0},
    "adamw": {"optimizer": "adamw", "weight_decay": 0.01, "learning_rate": 3e-4, "grad_clip": 1.0},
}



def without_timings(history: dict) -> dict:
    return {**history, "epochs": [{k: v for k, v in e.items() if k not in TIMING_KEYS} for e in history["epochs"]]}


def assert_same_run(folder_a, folder_b):
    model_a, model_b = (torch.load(f / "model.pt", weights_only=True) for f in (folder_a, folder_b))
    assert model_a.keys() == model_b.keys()
    for key in model_a:
        assert torch.equal(model_a[key], model_b[key]), key
    history_a, history_b = (json.loads((f / "history.json").read_text()) for f in (folder_a, folder_b))
    assert without_timings(history_a) == without_timings(history_b)
    stats_a, stats_b = (json.loads((f / "stats.json").read_text()) for f in (folder_a, folder_b))
    assert {k: stats_a[k] for k in VERDICT_KEYS} == {k: stats_b[k] for k in VERDICT_KEYS}


# 6 steps per epoch (the tiny set: 81 patches, batch 16): look 7 is epoch 1's end; 11 is after step 4 of epoch 2.
@pytest.mark.integration
@pytest.mark.parametrize("arm", ARMS)
@pytest.mark.parametrize("looks", [7, 11], ids=["after-epoch-1", "mid-epoch-2"])
def test_an_interrupted_run_resumes_to_the_same_weights_history_and_verdict(arm, looks, tmp_path, cache_dir,
                                                                              monkeypatch, tiny_run_config, stop_after):
    config = tiny_run_config(**ARMS[arm])
    whole = tmp_path / "whole"
    execute_run(config, whole, cache_dir=cache_dir)

    parted = tmp_path / "parted"
    monkeypatch.setattr(fit_module, "stop_request", stop_after(looks))
    with pytest.raises(RunInterrupted, match="injected stop") as interrupted:
        execute_run(config, parted, cache_dir=cache_dir)
    assert (parted / CHECKPOINT_NAME).is_file() and not (parted / "stats.json").exists()
    assert interrupted.value.position == ((1, 0) if looks == 7 else (1, 4))

    monkeypatch.setattr(fit_module, "stop_request", StopRequest())
    lines = []
    stats = execute_run(config, parted, cache_dir=cache_dir, progress=lines.append)
    assert stats.resumed and any(line.startswith("resuming from") for line in lines)
    assert not (parted / CHECKPOINT_NAME).exists()  # the finished run keeps no checkpoint
    assert_same_run(whole, parted)


@pytest.mark.integration
def test_checkpoints_at_every_epoch_and_kept_when_asked(tmp_path, cache_dir, tiny_run_config):
    folder = tmp_path / "run"
    stats = execute_run(tiny_run_config(), folder, cache_dir=cache_dir,
                        checkpoints=CheckpointPolicy(interval_s=0, keep=True))
    assert stats.timings["checkpoint_writes"] == 1  # after epoch 1; the last epoch ends in the record
    state = torch.load(folder / CHECKPOINT_NAME, weights_only=True)
    assert state["format"] == CHECKPOINT_FORMAT and state["config_hash"] == stats.config_hash
    assert state["position"] == [1, 0] and len(state["history"]["epochs"]) == 1
    assert execute_run(tiny_run_config(), tmp_path / "off", cache_dir=cache_dir,
                       checkpoints=CheckpointPolicy(enabled=False)).timings["checkpoint_writes"] == 0


def interrupted_folder(tmp_path, cache_dir, monkeypatch, config, stop_after):
    folder = tmp_path / "run"
    monkeypatch.setattr(fit_module, "stop_request", stop_after(7))
    with pytest.raises(RunInterrupted):
        execute_run(config, folder, cache_dir=cache_dir)
    monkeypatch.setattr(fit_module, "stop_request", StopRequest())
    return folder


@pytest.mark.integration
def test_a_checkpoint_of_another_configuration_or_a_truncated_one_is_discarded_saying_so(
        tmp_path, cache_dir, monkeypatch, tiny_run_config, stop_after):
    folder = interrupted_folder(tmp_path, cache_dir, monkeypatch, tiny_run_config(), stop_after)
    lines = []
    stats = execute_run(tiny_run_config(learning_rate=5e-4), folder, cache_dir=cache_dir, progress=lines.append)
    assert not stats.resumed
    assert any("written by another configuration" in line and "starting over" in line for line in lines)

    folder = interrupted_folder(tmp_path / "b", cache_dir, monkeypatch, tiny_run_config(), stop_after)
    data = (folder / CHECKPOINT_NAME).read_bytes()
    (folder / CHECKPOINT_NAME).write_bytes(data[: len(data) // 2])
    lines = []
    stats = execute_run(tiny_run_config(), folder, cache_dir=cache_dir, progress=lines.append)
    assert not stats.resumed and any("unreadable" in line and "starting over" in line for line in lines)


@pytest.mark.integration
def test_a_checkpoint_with_flipped_bytes_is_detected_and_the_run_starts_over(tmp_path, cache_dir, monkeypatch,
                                                                              tiny_run_config, stop_after):
    clean = execute_run(tiny_run_config(), tmp_path / "clean", cache_dir=cache_dir)
    folder = interrupted_folder(tmp_path, cache_dir, monkeypatch, tiny_run_config(), stop_after)
    path = folder / CHECKPOINT_NAME
    data = bytearray(path.read_bytes())
    middle = len(data) * 3 // 4
    data[middle:middle + 50] = bytes(byte ^ 0xFF for byte in data[middle:middle + 50])  # still a readable archive
    path.write_bytes(bytes(data))
    lines = []
    record = execute_run(tiny_run_config(), folder, cache_dir=cache_dir, progress=lines.append)
    assert any(str(path) in line and "does not match its hash" in line and "starting over" in line for line in lines)
    assert not record.resumed and (record.outcome, record.best_val_loss) == (clean.outcome, clean.best_val_loss)
    assert not path.exists() and not digest_path(path).exists()


@pytest.mark.integration
def test_a_checkpoint_of_a_newer_format_is_refused_and_kept(tmp_path, cache_dir, monkeypatch, tiny_run_config,
                                                             stop_after):
    folder = interrupted_folder(tmp_path, cache_dir, monkeypatch, tiny_run_config(), stop_after)
    state = torch.load(folder / CHECKPOINT_NAME, weights_only=True)
    torch.save({**state, "format": CHECKPOINT_FORMAT + 1}, folder / CHECKPOINT_NAME)
    digest_path(folder / CHECKPOINT_NAME).write_text(file_sha256(folder / CHECKPOINT_NAME))  # a newer harness's
    with pytest.raises(CheckpointRefused, match="newer than this harness reads"):
        execute_run(tiny_run_config(), folder, cache_dir=cache_dir)
    assert (folder / CHECKPOINT_NAME).exists() and not (folder / "stats.json").exists()
    assert execute_run(tiny_run_config(), folder, cache_dir=cache_dir, rerun=True).resumed is False


SMOKE = ["run", "--profile", "smoke", "--N", "32", "--set-phi", "--fno-blocks", "2", "--fno-width", "8",
         "--fno-modes", "4", "--torch-log-grad-norm", "--device", "cpu", "--torch-epochs", "12",
         "--checkpoint-interval", "0"]


@pytest.mark.integration
def test_sigterm_to_harness_run_leaves_a_checkpoint_and_the_same_command_finishes(tmp_path, cache_dir):
    folder = tmp_path / "run"
    command = [sys.executable, "-m", "harness.cli.main", *SMOKE, "--output-dir", str(folder)]
    env = {**os.environ, "HARNESS_CACHE_DIR": str(cache_dir), "PYTHONWARNINGS": "ignore"}
    process = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    for line in process.stderr:  # wait for the second epoch to end, then preempt
        if line.startswith("epoch 2/12  train"):
            process.send_signal(signal.SIGTERM)
            break
    stderr = process.stderr.read()
    assert process.wait(timeout=120) == REQUEUE_EXIT_STATUS, stderr
    assert "interrupted by SIGTERM" in stderr and "run the same command again" in stderr
    assert not (folder / "stats.json").exists()
    state = torch.load(folder / CHECKPOINT_NAME, weights_only=True)
    assert state["position"][0] >= 2 and state["config_hash"] == json.loads((folder / "config.json").read_text())[
        "config_hash"]

    finished = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert "resuming from" in finished.stderr
    stats = json.loads((folder / "stats.json").read_text())
    assert stats["resumed"] and stats["n_epochs"] == 12 and not (folder / CHECKPOINT_NAME).exists()


def test_the_automatic_interval_keeps_checkpoints_under_two_percent(tmp_path, monkeypatch):
    from harness.train import checkpoint as checkpoint_module

    now = [1000.0]
    monkeypatch.setattr(checkpoint_module.time, "perf_counter", lambda: now[0])
    checkpointer = checkpoint_module.Checkpointer(tmp_path, "hash")
    now[0] += 59.0
    assert not checkpointer.due()          # at least a minute, the first checkpoint too
    now[0] += 1.0
    assert checkpointer.due()
    real_save = checkpoint_module.atomic_save

    def slow_save(path, writer):           # a write that takes 3 s (a depth-6 checkpoint on this CPU)
        real_save(path, writer)
        now[0] += 3.0

    monkeypatch.setattr(checkpoint_module, "atomic_save", slow_save)
    checkpointer.write({"position": [1, 0]})
    now[0] += 149.0
    assert not checkpointer.due()          # 50 × 3 s: the next one after 150 s of training, i.e. ≤ 2 %
    now[0] += 1.0
    assert checkpointer.due() and checkpointer.summary()["checkpoint_writes"] == 1
    every_epoch = checkpoint_module.Checkpointer(tmp_path, "hash", CheckpointPolicy(interval_s=0))
    assert every_epoch.due()
