"""One run end to end: run folder, reuse, atomicity, OOM/infeasible, `harness run` and `harness stats`."""

import dataclasses
import json
import os
import signal
import subprocess
import sys

import pytest

from harness.cli.main import main
from harness.models import GeneratorPlan
from harness.run import RunConfig, RunFolder, execute_run
from harness.train import TrainConfig
from stability_tests.tiny import TINY_DATASET

SMOKE_RUN = ["run", "--profile", "smoke", "--N", "32", "--set-phi", "--fno-blocks", "2", "--fno-width", "8",
             "--fno-modes", "4", "--torch-log-grad-norm", "--torch-grad-clip", "1.0", "--device", "cpu"]
STATS_FIELDS = ("crashed", "outcome", "reasons", "best_val_loss", "final_val_loss", "amp_ssim", "phase_ssim", "amp_mae",
                "phase_mae", "collapse_floor", "onset_epoch", "onset_step", "n_epochs", "grad_norm_mean",
                "grad_norm_max", "grad_norm_p99", "params", "wall_s", "device", "config_hash", "profile",
                "explanation", "peak_amp_ssim", "peak_epoch", "learned_before_failure", "fit_error", "fit_noise_floor",
                "fit_constant_object", "verdict_version", "evidence", "environment")



def test_run_folder_has_every_file_and_field_and_is_reused(tmp_path, cache_dir, monkeypatch, tiny_run_config):
    folder = tmp_path / "run"
    stats = execute_run(tiny_run_config(), folder, cache_dir=cache_dir)
    assert sorted(os.listdir(folder)) == sorted(
        [".lock", "config.json", "history.json", "metrics.json", "model.pt", "recon.npz", "recon.png", "stats.json"])
    saved = json.loads((folder / "stats.json").read_text())
    for field in STATS_FIELDS:
        assert field in saved, field
    assert saved["outcome"] in ("ok", "crashed", "inconclusive") and saved["n_epochs"] == 2 and saved["params"] == 14_842
    assert saved["environment"]["device"] == "cpu" and saved["environment"]["precision"] == "float32"
    assert saved["environment"]["torch"] and saved["evidence"]["twin"]["patches"] > 0
    assert 0 < saved["fit_noise_floor"] < saved["fit_constant_object"]
    history = json.loads((folder / "history.json").read_text())
    assert len(history["epochs"]) == 2 and len(history["steps"]) == history["steps_done"]
    assert not stats.reused

    from harness.run import execute as execute_module

    def no_training(*args, **kwargs):
        raise AssertionError("trained again")

    monkeypatch.setattr(execute_module, "train_and_evaluate", no_training)
    again = execute_run(tiny_run_config(), folder, cache_dir=cache_dir)
    assert again.reused and again.config_hash == stats.config_hash

    # A verdict decided by older rules is re-derived from the folder on reuse (and written back), not retrained.
    stale = {key: value for key, value in saved.items() if key not in ("verdict_version", "explanation")}
    (folder / "stats.json").write_text(json.dumps({**stale, "outcome": "crashed", "crashed": True,
                                                   "reasons": ["collapsed"]}))
    refreshed = execute_run(tiny_run_config(), folder, cache_dir=cache_dir)
    assert refreshed.reused and (refreshed.outcome, list(refreshed.reasons)) == (saved["outcome"], saved["reasons"])
    assert json.loads((folder / "stats.json").read_text())["verdict_version"] == saved["verdict_version"]

    # The same configuration recorded by another study is adopted, not retrained; another configuration is not.
    shootout_folder = tmp_path / "shootout_run"
    adopted = execute_run(dataclasses.replace(tiny_run_config(), study="shootout", arm="control"), shootout_folder,
                          cache_dir=cache_dir, reuse_candidates=[folder, shootout_folder])
    assert adopted.reused and adopted.reused_from == str(folder)
    assert sorted(os.listdir(shootout_folder)) == sorted(os.listdir(folder))
    recorded = json.loads((shootout_folder / "stats.json").read_text())
    assert (recorded["study"], recorded["arm"], recorded["amp_ssim"]) == ("shootout", "control", saved["amp_ssim"])
    assert json.loads((shootout_folder / "config.json").read_text())["study"] == "shootout"
    with pytest.raises(AssertionError, match="trained again"):
        execute_run(dataclasses.replace(tiny_run_config(learning_rate=5e-4), study="shootout"), tmp_path / "other",
                    cache_dir=cache_dir, reuse_candidates=[folder])
    with pytest.raises(AssertionError, match="trained again"):
        execute_run(tiny_run_config(), folder, cache_dir=cache_dir, rerun=True)
    with pytest.raises(AssertionError, match="trained again"):  # another setting is another run
        execute_run(tiny_run_config(learning_rate=5e-4), folder, cache_dir=cache_dir)


def test_infeasible_is_recorded_before_anything_is_built_and_is_not_a_crash(tmp_path, monkeypatch):
    from harness.run import execute as execute_module

    def refuse(*_, **__):
        raise AssertionError("an infeasible run must not simulate data or build a model")

    monkeypatch.setattr(execute_module, "build_generator", refuse)
    monkeypatch.setattr(execute_module.RunEvaluation, "load", refuse)
    data = TINY_DATASET.__class__(**{**TINY_DATASET.as_dict(), "N": 64, "object_size": 128})
    config = RunConfig(model=GeneratorPlan("hybrid", depth=8), data=data, train=TrainConfig(epochs=1), profile="test")
    record = execute_run(config, tmp_path / "deep", cache_dir=tmp_path / "cache")
    assert record.outcome == "infeasible" and record.crashed is False and "at most depth 7" in record.message
    assert not (tmp_path / "cache").exists()


def test_out_of_memory_is_recorded_as_oom(tmp_path, cache_dir, monkeypatch, tiny_run_config):
    from harness.run import execute as execute_module

    def exhausted(*args, **kwargs):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory")

    monkeypatch.setattr(execute_module, "fit_group", exhausted)
    stats = execute_run(tiny_run_config(), tmp_path / "oom", cache_dir=cache_dir)
    assert stats.outcome == "oom" and stats.crashed is False and "allocate" in stats.message
    monkeypatch.setattr(execute_module, "fit_group", lambda *a, **k: (_ for _ in ()).throw(ValueError("a harness bug")))
    with pytest.raises(ValueError, match="a harness bug"):  # only a broken harness raises
        execute_run(tiny_run_config(seed=2), tmp_path / "bug", cache_dir=cache_dir)


def test_harness_run_and_stats_commands(tmp_path, cache_dir, capsys):
    out = tmp_path / "OUT"
    assert main([*SMOKE_RUN, "--cache-dir", str(cache_dir), "--output-dir", str(out)]) == 0
    printed = capsys.readouterr()
    assert "hybrid depth 2 seed 20260128:" in printed.out and "amp_ssim" in printed.out
    assert "epoch 2/2" in printed.err  # a progress line per epoch
    assert main(["stats", "--run-dir", str(out), "--out-json", str(tmp_path / "stats.json")]) == 0
    recomputed = json.loads((tmp_path / "stats.json").read_text())
    original = json.loads((out / "stats.json").read_text())
    for key in ("crashed", "reasons", "amp_ssim", "collapse_floor", "best_val_loss"):
        assert recomputed[key] == original[key]
    assert main(["stats", "--run-dir", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert f"--run-dir {tmp_path}" in error and "not a run folder" in error and len(error.strip().splitlines()) == 1


def test_several_architectures_run_each(tmp_path, cache_dir, capsys):
    out = tmp_path / "OUT"
    assert main([*SMOKE_RUN, "--architectures", "hybrid", "stable_hybrid", "--torch-epochs", "1",
                 "--cache-dir", str(cache_dir), "--output-dir", str(out)]) == 0
    assert (out / "hybrid" / "stats.json").exists() and (out / "stable_hybrid" / "stats.json").exists()
    assert "stable_hybrid depth 2" in capsys.readouterr().out


@pytest.mark.parametrize("arguments, flag", [
    (["--architectures", "unet"], "--architectures unet"),
    (["--fno-blocks", "0"], "--fno-blocks 0"),
    (["--torch-epochs", "-3"], "--torch-epochs -3"),
    (["--nepochs", "-1"], "--nepochs -1"),
    (["--probe-npz", "/nonexistent/p.npz"], "--probe-npz /nonexistent/p.npz"),
    (["--output-dir", "/proc/no/such"], "--output-dir /proc/no/such"),
    (["--torch-optimizer", "lion"], "--torch-optimizer lion"),
    (["--device", "tpu"], "--device tpu"),
    (["--torch-betas", "2", "3"], "--torch-betas 2.0"),
    (["--fno-blocks", "99"], "--fno-blocks 99"),
    (["--checkpoint-interval", "-1"], "--checkpoint-interval -1"),
    (["--probe-defocus", "inf"], "--probe-defocus inf"),
])
def test_bad_input_is_one_line_naming_the_flag(tmp_path, arguments, flag, usage_error):
    cache, runs = tmp_path / "cache", tmp_path / "runs"
    usage_error([*SMOKE_RUN, "--cache-dir", str(cache), "--runs-dir", str(runs), *arguments], flag, [cache, runs])


@pytest.mark.integration
def test_a_run_killed_half_way_leaves_no_stats_and_is_trained_next_time(tmp_path, cache_dir):
    out = tmp_path / "killed"
    command = [sys.executable, "-m", "harness.cli.main", *SMOKE_RUN, "--torch-epochs", "50",
               "--cache-dir", str(cache_dir), "--output-dir", str(out)]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    for line in process.stderr:
        if line.startswith("epoch 2/50"):
            process.send_signal(signal.SIGKILL)
            break
    process.wait(60)
    assert (out / "config.json").exists() and not (out / "stats.json").exists()
    # no half-written file: atomic writes stage under ".<name>.<random><suffix>" beside the lock
    assert not [name for name in os.listdir(out) if name.startswith(".") and name != ".lock"]
    result = subprocess.run([*command[:-4], "--torch-epochs", "1", "--cache-dir", str(cache_dir), "--output-dir", str(out)],
                            capture_output=True, text=True)
    assert result.returncode == 0 and "(reused)" not in result.stdout
    assert json.loads((out / "stats.json").read_text())["n_epochs"] == 1


@pytest.mark.integration
def test_two_harness_runs_on_one_folder_train_it_once(tmp_path, cache_dir):
    out = tmp_path / "shared"
    command = [sys.executable, "-m", "harness.cli.main", *SMOKE_RUN, "--torch-epochs", "40", "--cache-dir",
               str(cache_dir), "--output-dir", str(out)]
    first = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    for line in first.stderr:  # the first holds the folder and is training (about 10 s to go)
        if line.startswith("epoch 1/40"):
            break
    second = subprocess.run(command, capture_output=True, text=True, timeout=300)
    first_out, _ = first.communicate(timeout=300)
    assert first.returncode == 0 and second.returncode == 0, second.stderr
    assert "is in use by pid" in second.stderr and "waiting for it" in second.stderr
    assert "(reused)" in second.stdout and "(reused)" not in first_out
    assert "training patches" not in second.stderr  # it never trained
    assert RunFolder(out).problem() is None


def test_a_checkpoint_that_cannot_be_written_still_stops_the_run_and_says_so(tmp_path, cache_dir, monkeypatch,
                                                                               tiny_run_config, stop_after):
    from harness.fsutil import DiskFull
    from harness.train import trainer as fit_module
    from harness.train.checkpoint import Checkpointer
    from harness.train.interrupt import RunInterrupted

    def full(self, state):
        raise DiskFull(self.path)

    monkeypatch.setattr(Checkpointer, "write", full)
    monkeypatch.setattr(fit_module, "stop_request", stop_after(3))
    with pytest.raises(RunInterrupted, match="no space left on the device writing .*checkpoint.pt.*starts this run "
                                             "over"):
        execute_run(tiny_run_config(), tmp_path / "run", cache_dir=cache_dir)
    assert not (tmp_path / "run" / "stats.json").exists()


def test_a_second_ctrl_c_ends_the_run_as_an_interrupt_not_an_exit(tmp_path, cache_dir, monkeypatch, tiny_run_config,
                                                                  stop_after):
    from harness.train import step as step_module
    from harness.train import trainer as fit_module

    real = step_module.member_losses
    calls = {"n": 0}

    def second_ctrl_c(*args):  # the first Ctrl-C asked for a stop; the second arrives during a step
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(step_module, "member_losses", second_ctrl_c)
    stop = stop_after(10**6)
    stop.request("SIGINT")
    monkeypatch.setattr(fit_module, "stop_request", stop)
    monkeypatch.setattr(fit_module.PtychoTrainingModule, "interrupt", lambda self, reason: KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        execute_run(tiny_run_config(), tmp_path / "run", cache_dir=cache_dir)
