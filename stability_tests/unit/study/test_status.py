"""study/status.py: the status line of a session, read from the runs' own progress logs."""

import math
import os
import time

import pytest

from harness.study.status import StatusPrinter, parse_progress, read_running, runs_to_decide, session_eta_s, status_line

HEAD = "control depth 6 seed 11: 2,627,186 parameters, 2116 training patches, 8 epochs on cpu\n"


def epoch_line(epoch: int, seconds: float) -> str:
    return f"epoch {epoch}/8  train 0.1  val 0.09  amp_ssim 0.3  lr 0.001  amp std/mean 0.2  ({seconds} s)\n"


def write_log(folder, text: str, age_s: float = 0.0):
    folder.mkdir(parents=True)
    (folder / "progress.log").write_text(text)
    if age_s:
        stamp = time.time() - age_s
        os.utime(folder / "progress.log", (stamp, stamp))


@pytest.fixture
def two_workers(tmp_path):
    """A runs folder as two xdist workers leave it mid-session: one run in epoch 4, one in its first epoch, one
    finished, one from an earlier session."""
    runs = tmp_path / "runs" / "crash_hunt" / "control"
    write_log(runs / "depth6_seed11", HEAD + epoch_line(1, 14.0) + epoch_line(2, 16.0) + epoch_line(3, 15.0)
              + "epoch 4/8  step 66/133  loss 0.07  9.1 steps/s  ETA 0:07\n")
    write_log(runs / "depth4_seed11", HEAD.replace("depth 6", "depth 4") + "epoch 1/8  step 13/133  loss 0.2\n")
    write_log(runs / "depth4_seed12", HEAD + epoch_line(1, 12.0))
    (runs / "depth4_seed12" / "stats.json").write_text("{}")
    write_log(runs / "depth6_seed12", HEAD + epoch_line(1, 12.0), age_s=3600)
    return tmp_path / "runs"


def test_the_running_runs_are_those_of_this_session_not_finished(two_workers):
    running = {run.label: run for run in read_running(two_workers, since=time.time() - 600)}
    assert set(running) == {"control/depth6_seed11", "control/depth4_seed11"}
    deep = running["control/depth6_seed11"]
    assert (deep.epochs_done, deep.epochs, deep.epoch_s) == (3, 8, pytest.approx(15.0))
    assert deep.eta_s == pytest.approx((8 - 3 - 66 / 133) * 15.0)
    assert running["control/depth4_seed11"].eta_s is None   # nothing measured yet


def test_a_restarted_run_counts_its_last_attempt_only():
    text = HEAD + epoch_line(1, 100.0) + epoch_line(2, 100.0) + HEAD + epoch_line(1, 10.0)
    run = parse_progress(text, "x")
    assert (run.epochs_done, run.epoch_s) == (1, 10.0)


def test_the_line_of_a_session_with_two_workers(two_workers):
    running = read_running(two_workers, since=time.time() - 600)
    finished = {"depth 8": {"infeasible": 3}, "depth 6": {"ok": 2, "crashed": 1}}
    line = status_line(95.0, running, finished, ["depth 8 ended undecided after 3 runs"], remaining_runs=5,
                       run_s=120.0, workers=2)
    assert line.startswith("[1:35] running ")
    assert "control/depth6_seed11 epoch 3/8 (ETA 1:07)" in line and "control/depth4_seed11 epoch 0/8" in line
    assert "depth 8: 3 infeasible" in line and "depth 6: 1 crashed, 2 ok" in line
    assert "decided depth 8 ended undecided after 3 runs" in line
    # the longest running ETA, then the 3 runs not started over 2 workers: 2 rounds of 120 s
    expected = (8 - 3 - 66 / 133) * 15.0 + 2 * 120.0
    assert session_eta_s(running, 5, 120.0, 2) == pytest.approx(expected)
    assert f"session ETA ~{int(expected) // 60}:{int(expected) % 60:02d} (≥ 5 more runs)" in line
    assert "\n" not in line


def test_runs_to_decide_follow_walds_boundaries():
    p0, p1, alpha, beta = 0.05, 0.30, 0.05, 0.20
    lower = math.log(beta / (1 - alpha))
    per_ok, per_crash = math.log((1 - p1) / (1 - p0)), math.log(p1 / p0)
    for crashed, ok in [(0, 0), (0, 3), (1, 0), (1, 4), (0, 6), (2, 0)]:
        needed = runs_to_decide({"d": {"crashed": crashed, "ok": ok}}, p0, p1, alpha, beta)
        llr = crashed * per_crash + ok * per_ok
        # exactly `needed` more ok runs cross the lower boundary, one fewer does not (or the cell is decided)
        assert llr + needed * per_ok <= lower or needed == 0
        assert needed == 0 or llr + (needed - 1) * per_ok > lower
    assert runs_to_decide({"d": {"crashed": 2}}, p0, p1, alpha, beta) == 0          # decided crashy
    assert runs_to_decide({"d8": {"infeasible": 3}}, p0, p1, alpha, beta) == 0      # ended unclassified
    assert runs_to_decide({"d8": {"infeasible": 1}}, p0, p1, alpha, beta) == 0      # the rest refused in seconds
    assert runs_to_decide({"d": {"inconclusive": 1}}, p0, p1, alpha, beta) == 6     # as good as no run yet


def test_the_printer_says_a_change_at_once_and_an_unchanged_state_every_other_time():
    states = iter(["[0:30] running a", "[1:00] running a", "[1:30] running a", "[2:00] running b"])
    written = []
    printer = StatusPrinter(written.append, lambda: next(states), every_s=3600)
    results = [printer.tick() for _ in range(4)]
    assert [r is not None for r in results] == [True, False, True, True]
    assert written == ["[0:30] running a", "[1:30] running a", "[2:00] running b"]


def test_a_failing_status_never_ends_the_session():
    written = []
    printer = StatusPrinter(written.append, lambda: 1 / 0, every_s=0.01)
    printer.start()
    time.sleep(0.1)
    printer.stop()
    assert written and written[0].startswith("(status unavailable")


def test_a_shootout_look_waits_for_every_arm_at_its_seeds():
    from harness.study.status import runs_to_finish_look

    arms = ["control", "layerscale", "agc"]
    assert runs_to_finish_look({}, arms, 5) == 15
    assert runs_to_finish_look({"control": {"ok": 5}, "layerscale": {"ok": 2, "inconclusive": 1}}, arms, 5) == 7
    assert runs_to_finish_look({"control": {"ok": 6}, "layerscale": {"ok": 5}, "agc": {"ok": 5}}, arms, 5) == 14
