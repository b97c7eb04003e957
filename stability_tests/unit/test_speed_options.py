"""The speed options of `harness bench`: each setup really trains, and the throughput ratios follow from the
measured step times by the definition of run-steps per second."""

import dataclasses

import pytest

import harness.speed_options as speed
from harness.models import GeneratorPlan

TINY = GeneratorPlan("hybrid", 2, 8, max_hidden_channels=16, n=16)


@pytest.mark.parametrize("change", [{}, {"channels_last": False}, {"bf16": True}, {"threads": 2}])
def test_every_setup_times_real_steps(change):
    step, warmup = speed.step_seconds(speed.StepSetup(TINY, steps=2, warmup=1, **change))
    assert step > 0 and warmup > 0


def test_runs_side_by_side_are_separate_processes_each_timing_its_steps():
    step, warmup = speed.side_by_side_step_seconds(speed.StepSetup(TINY, steps=2, warmup=1), runs=2)
    assert step > 0 and warmup > 0


def test_ratios_are_run_steps_per_second_against_the_current_layout(monkeypatch):
    # measured times stand in for the processes: current 100 ms per run with 2 runs side by side (20 steps/s on
    # the machine); nchw 80 ms (25 steps/s: ×1.25); bf16 50 ms (×2); compile fails; one run on 2 threads 40 ms
    # (25 steps/s: ×1.25)
    side_by_side = {(True, False, False): 0.100, (False, False, False): 0.080, (True, True, False): 0.050}

    def fake_side_by_side(setup, runs):
        assert runs == 2 and setup.threads == 1
        if setup.compiled:
            raise RuntimeError("inductor needs a C++ compiler\nmore detail")
        return side_by_side[(setup.channels_last, setup.bf16, setup.compiled)], 1.0

    monkeypatch.setattr(speed, "side_by_side_step_seconds", fake_side_by_side)
    monkeypatch.setattr(speed, "step_seconds", lambda setup: (0.040, 1.0))
    rows = {row.option: row for row in speed.measure_options(TINY, cores=2, progress=lambda line: None)}
    assert rows["current"].throughput_ratio == 1.0
    assert rows["nchw"].throughput_ratio == pytest.approx(1.25) and rows["nchw"].same_math
    assert rows["bf16"].throughput_ratio == pytest.approx(2.0) and not rows["bf16"].same_math
    assert rows["compile"].step_s is None and rows["compile"].note == "unavailable: inductor needs a C++ compiler"
    assert rows["threads"].throughput_ratio == pytest.approx(1.25) and rows["threads"].step_s == 0.040
    assert "unavailable" in speed.format_option(rows["compile"]) and "×1.25" in speed.format_option(rows["nchw"])


def test_one_core_has_no_threads_option(monkeypatch):
    monkeypatch.setattr(speed, "side_by_side_step_seconds", lambda setup, runs: (0.1, 1.0))
    rows = speed.measure_options(TINY, cores=1, progress=lambda line: None)
    assert [row.option for row in rows] == ["current", "nchw", "bf16", "compile"]
    assert all(dataclasses.asdict(row) for row in rows)


def test_speed_options_need_a_cpu(usage_error):
    usage_error(["bench", "--speed-options", "--device", "cuda"], "--device cuda", [])
