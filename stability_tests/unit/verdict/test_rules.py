"""The crash verdict: failure taxonomy, onsets and peaks, on real GPU trajectories
and on constructed ones."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.evaluate import collapse_floor, reconstruction_metrics
from harness.evaluate.metrics import trim
from harness.verdict import COLLAPSE_CV, FIT_ERROR, FIT_FRACTION, FLOOR_MARGIN, RECONSTRUCTED_MARGIN, Evidence, fit_threshold
from harness.verdict import detect as detect_from_evidence
from harness.verdict.thresholds import OVERLAP_TWIN_MARGIN

EMPTY_HISTORY = {"nonfinite": None, "epochs": []}
REFERENCE = json.loads((Path(__file__).parents[2] / "data" / "paper_h200_depth4.json").read_text())
FLOOR = REFERENCE["collapse_floor"]
VARIED = np.random.default_rng(0).uniform(0.5, 1.5, size=(30, 30))   # an amplitude far from constant


def detect(history, metrics, amplitude, **given):
    """The verdict of a run that left this history, these metrics and this reconstruction amplitude."""
    return detect_from_evidence(Evidence.of(history, metrics, amplitude, **given))


def history_of(amp_ssim, val_loss, amp_cv=None, nonfinite=None):
    """A history with the per-epoch series the verdict reads (0-based `epoch`, as the trainer writes)."""
    amp_cv = amp_cv or [0.5] * len(amp_ssim)
    epochs = [{"epoch": i, "val_loss": v, "amp_ssim": s, "amp_cv": c} for i, (s, v, c) in
              enumerate(zip(amp_ssim, val_loss, amp_cv))]
    return {"nonfinite": nonfinite, "epochs": epochs}


def verdict_of(history, amplitude=VARIED, floor=FLOOR, twin=None):
    last = history["epochs"][-1] if history["epochs"] else {}
    metrics = {"amp_ssim": last.get("amp_ssim"), "collapse_floor": floor, "final_val_loss": last.get("val_loss")}
    return detect(history, metrics, amplitude, twin=twin)


# --- the reference trajectories: the paper protocol on one H200 under the disk probe (data/paper_h200_depth4.json) ---

def reference_history(seed: str) -> dict:
    return {"nonfinite": None, "epochs": REFERENCE["runs"][seed]}


def test_reference_seed_that_fits_but_reconstructs_the_wrong_object_is_a_crash_from_the_epoch_it_fit():
    history = reference_history("20260129")
    verdict = verdict_of(history)
    assert verdict.outcome == "crashed" and verdict.reasons == ("wrong_solution",)
    # its SSIM was at the floor from epoch 1, but only from the epoch its fit error reached the line (and stayed)
    # did it fit the data: the wrong solution dates from there, as known at that epoch
    fit = [epoch["val_loss"] <= FIT_ERROR for epoch in history["epochs"]]
    assert all(fit[verdict.onset_epoch - 1:]) and not fit[verdict.onset_epoch - 2] and verdict.onset_epoch > 1
    assert verdict.learned_before_failure is False
    assert verdict.evidence["fits"] and verdict.evidence["no_better_than_constant"]
    assert verdict.peak_amp_ssim == pytest.approx(0.197) and verdict.peak_epoch == 2
    assert verdict.crashed_heuristic  # the old heuristic also calls it crashed (amp_ssim < 0.5)


@pytest.mark.parametrize("seed", ["20260128", "20260130"])
def test_reference_healthy_seeds_are_ok(seed):
    verdict = verdict_of(reference_history(seed))
    assert verdict.outcome == "ok" and verdict.reasons == () and verdict.onset_epoch is None
    assert verdict.peak_amp_ssim > 0.97


def test_reference_twin_evidence_names_the_failure():
    twin = {"median_direct": 0.28, "median_twin": 0.51, "twin_better_fraction": 0.8, "patches": 1089}
    verdict = verdict_of(reference_history("20260129"), twin=twin)
    assert verdict.reasons == ("twin_image",) and "point-reflected" in verdict.explanation
    healthy_twin = {"median_direct": 0.57, "median_twin": 0.2, "twin_better_fraction": 0.1, "patches": 1089}
    assert verdict_of(reference_history("20260129"), twin=healthy_twin).reasons == ("wrong_solution",)


@pytest.mark.parametrize("asymmetry, exact, said", [(0.0, True, "point-symmetric: an object with the reflected amplitude"),
                                                    (0.474, False, "point-asymmetric (0.474 at its best centre)")])
def test_a_wrong_solution_says_whether_the_probe_admits_an_exact_twin(asymmetry, exact, said):
    twin = {"median_direct": 0.57, "median_twin": 0.2, "twin_better_fraction": 0.1, "patches": 1089,
            "probe_asymmetry": asymmetry, "exact_twin": exact}
    verdict = verdict_of(reference_history("20260129"), twin=twin)
    assert verdict.reasons == ("wrong_solution",) and f"the probe's |P| is {said}" in verdict.explanation
    assert "probe" not in verdict_of(reference_history("20260128"), twin=twin).explanation  # said of failures only


def test_reference_runs_cut_short_keep_their_verdicts_once_the_fit_is_reached():
    """From epoch 4 on (val < 0.10 for all three) the verdicts are those of epoch 22."""
    for epochs in range(4, 23):
        cut = {seed: verdict_of({"nonfinite": None, "epochs": REFERENCE["runs"][seed][:epochs]}).outcome
               for seed in REFERENCE["runs"]}
        assert cut == {"20260128": "ok", "20260129": "crashed", "20260130": "ok"}, epochs


# --- constructed trajectories -------------------------------------------------------------------------------

def test_under_trained_like_the_quick_profile_is_inconclusive():
    """The committed quick runs: val 0.28 → 0.19 over 7 epochs, amp_ssim 0.22–0.33 (floor 0.278)."""
    for final in (0.217, 0.291, 0.309, 0.331):
        history = history_of([0.15, 0.2, 0.25, 0.26, 0.27, 0.28, final], [0.28, 0.25, 0.23, 0.21, 0.2, 0.195, 0.19])
        verdict = verdict_of(history)
        assert verdict.outcome == "inconclusive" and not verdict.crashed and verdict.reasons == ()
        assert "train longer" in verdict.explanation


def test_constant_output_is_collapsed_from_the_start_of_its_constant_streak():
    history = history_of([0.5, 0.6, 0.28, 0.28], [0.2, 0.15, 0.3, 0.3], amp_cv=[0.4, 1e-4, 0.3, 5e-4])
    verdict = verdict_of(history, amplitude=np.full((20, 20), 0.7))
    assert verdict.reasons == ("collapsed",) and verdict.onset_epoch == 4 and verdict.evidence["constant"]
    constant_throughout = history_of([0.28] * 3, [0.3] * 3, amp_cv=[1e-4] * 3)
    assert verdict_of(constant_throughout, amplitude=np.full((20, 20), 0.7)).onset_epoch == 1


def test_nan_is_nonfinite_with_its_step_and_epoch():
    history = history_of([0.4, 0.5], [0.2, 0.15], nonfinite={"step": 17, "epoch": 2, "what": "loss"})
    verdict = verdict_of(history)
    assert verdict.reasons == ("nonfinite",) and verdict.onset_step == 17 and verdict.onset_epoch == 3
    assert verdict.crashed and "step 17" in verdict.explanation


def test_learned_then_fell_to_the_floor_is_a_crash_with_onset_at_the_fall_and_its_peak():
    ssim = [0.3, 0.6, 0.8, 0.75, 0.29, 0.27, 0.26]
    for val, reason in (([0.2, 0.1, 0.06, 0.06, 0.12, 0.14, 0.15], "degraded"),       # the fit was lost too
                        ([0.2, 0.1, 0.06, 0.06, 0.06, 0.05, 0.05], "wrong_solution")):  # still fits the data
        verdict = verdict_of(history_of(ssim, val))
        assert verdict.reasons == (reason,) and verdict.onset_epoch == 5
        assert (verdict.peak_amp_ssim, verdict.peak_epoch) == (0.8, 3) and verdict.learned_before_failure


def test_fitting_run_better_than_a_constant_is_ok_and_the_heuristic_is_kept_apart():
    verdict = verdict_of(history_of([0.3, 0.4, 0.45], [0.2, 0.09, 0.08]))
    assert verdict.outcome == "ok" and verdict.crashed_heuristic  # amp_ssim < 0.5: the old rule says crashed


def test_below_the_floor_counts_as_no_better_than_a_constant():
    verdict = verdict_of(history_of([0.2, 0.15], [0.1, 0.06]))
    assert verdict.reasons == ("wrong_solution",) and verdict.evidence["amp_ssim_above_floor"] < 0


def test_poisson_loss_runs_are_judged_on_the_recorded_fit_error_not_their_loss():
    history = history_of([0.2, 0.2], [3.1, 2.9])
    for epoch in history["epochs"]:
        epoch["val_fit_error"] = 0.05
    assert detect(history, {"amp_ssim": 0.2, "collapse_floor": FLOOR, "final_val_loss": 2.9}, VARIED,
                  loss_mode="poisson").reasons == ("wrong_solution",)
    del history["epochs"][-1]["val_fit_error"]  # an old poisson history: the fit is unknown, so no claim of a fit
    assert detect(history, {"amp_ssim": 0.2, "collapse_floor": FLOOR, "final_val_loss": 2.9}, VARIED,
                  loss_mode="poisson").outcome == "inconclusive"


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_verdict_invariants_over_random_trajectories(data):
    n = data.draw(st.integers(1, 12))
    ssim = data.draw(st.lists(st.floats(0.0, 1.0), min_size=n, max_size=n))
    val = data.draw(st.lists(st.floats(0.01, 0.4), min_size=n, max_size=n))
    verdict = verdict_of(history_of(ssim, val))
    assert verdict.outcome in ("ok", "crashed", "inconclusive")
    assert verdict.crashed == bool(verdict.reasons)
    assert verdict.peak_amp_ssim == max(ssim)
    final, fits = ssim[-1], val[-1] <= FIT_ERROR
    if final >= FLOOR + RECONSTRUCTED_MARGIN:
        assert verdict.outcome == "ok"
    if verdict.crashed:
        assert final <= FLOOR + FLOOR_MARGIN and 1 <= verdict.onset_epoch <= n
        assert all(s <= FLOOR + FLOOR_MARGIN for s in ssim[verdict.onset_epoch - 1:])
        assert fits or verdict.reasons == ("degraded",)
        # the onset is the first epoch from which the failure held as measured at each epoch: below the floor,
        # and for a wrong solution also fitting the data
        failing = [s <= FLOOR + FLOOR_MARGIN and (verdict.reasons == ("degraded",) or v <= FIT_ERROR)
                   for s, v in zip(ssim, val)]
        assert all(failing[verdict.onset_epoch - 1:])
        assert verdict.onset_epoch == 1 or not failing[verdict.onset_epoch - 2]
    if verdict.outcome == "inconclusive":
        assert not fits and final < FLOOR + RECONSTRUCTED_MARGIN


# --- on the real ground truth of the tiny dataset -----------------------------------------------------------

@pytest.fixture(scope="module")
def truth(tiny_dataset):
    return tiny_dataset.test["YY_ground_truth"][0, ..., 0]


def _verdict(prediction, truth, final_val_loss=0.05):
    metrics = {**reconstruction_metrics(prediction, truth), "final_val_loss": final_val_loss}
    return detect(EMPTY_HISTORY, metrics, np.abs(trim(prediction)))


def test_constant_prediction_is_collapsed(truth):
    verdict = _verdict(np.full(truth.shape, 0.7 + 0j), truth)
    assert verdict.crashed and verdict.reasons == ("collapsed",) and verdict.outcome == "crashed"
    assert verdict.evidence["constant"] and abs(verdict.evidence["amp_ssim_above_floor"]) < 0.02


def test_ground_truth_itself_is_ok(truth):
    verdict = _verdict(truth, truth)
    assert verdict.outcome == "ok" and verdict.reasons == () and not verdict.crashed_heuristic


def test_nan_reconstruction_is_nonfinite(truth):
    prediction = truth.copy()
    prediction[3, 3] = np.nan
    verdict = detect(EMPTY_HISTORY, {"amp_ssim": math.nan, "collapse_floor": 0.3, "final_val_loss": math.nan},
                     np.abs(prediction))
    assert "nonfinite" in verdict.reasons and verdict.crashed_heuristic


@settings(max_examples=25, deadline=None)
@given(noise=st.floats(0.0, 0.02), seed=st.integers(0, 1000))
def test_small_noise_on_the_truth_stays_ok(truth, noise, seed):
    rng = np.random.default_rng(seed)
    noisy = truth * (1 + noise * rng.standard_normal(truth.shape))
    assert _verdict(noisy, truth).outcome == "ok"


@settings(max_examples=40, deadline=None)
@given(mean=st.floats(1e-3, 1e4), relative_std=st.floats(0, COLLAPSE_CV * 0.9), seed=st.integers(0, 1000))
def test_std_over_mean_under_threshold_is_collapsed_whatever_the_mean(mean, relative_std, seed):
    rng = np.random.default_rng(seed)
    amplitude = mean * (1 + relative_std * rng.uniform(-1, 1, size=(40, 40)))
    metrics = {"amp_ssim": 0.9, "collapse_floor": 0.3, "final_val_loss": 0.01}  # SSIM alone would say ok
    verdict = detect(EMPTY_HISTORY, metrics, amplitude)
    assert verdict.crashed and "collapsed" in verdict.reasons


def test_collapse_floor_equals_ssim_of_a_constant_image_computed_independently(truth):
    amplitude = trim(np.abs(truth)).astype(np.float64)
    mu_t = amplitude.mean()
    data_range = amplitude.max() - amplitude.min()
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    # local 7×7 uniform statistics with reflect padding, as the metric's SSIM uses
    from scipy.ndimage import uniform_filter

    padded = np.pad(amplitude, 3, mode="reflect")
    local_mean = uniform_filter(padded, 7, mode="constant")[3:-3, 3:-3]
    local_var = np.clip(uniform_filter(padded**2, 7, mode="constant")[3:-3, 3:-3] - local_mean**2, 0, None)
    # a constant prediction c has zero local variance and zero covariance
    ssim_map = ((2 * mu_t * local_mean + c1) * c2) / ((mu_t**2 + local_mean**2 + c1) * (local_var + c2))
    expected = ssim_map.mean()  # averaged over every pixel of the (reflect-padded) image
    assert collapse_floor(amplitude) == pytest.approx(expected, rel=1e-6)


def test_the_fit_threshold_follows_the_runs_own_noise_floor():
    paper = {"fit_noise_floor": 0.0049, "fit_constant_object": 0.270}     # measured on the paper data
    assert fit_threshold(paper) == pytest.approx(FIT_ERROR, abs=0.003)   # the fallback is the same rule there
    assert fit_threshold({}) == FIT_ERROR
    low_photons = {"fit_noise_floor": 0.093, "fit_constant_object": 0.305}  # 1e6 photons
    assert fit_threshold(low_photons) == pytest.approx(0.093 + (1 - FIT_FRACTION) * (0.305 - 0.093))
    history = history_of([0.2, 0.2], [0.2, 0.16])
    metrics = {"amp_ssim": 0.2, "collapse_floor": FLOOR, "final_val_loss": 0.16}
    assert detect(history, metrics, VARIED).outcome == "inconclusive"
    assert detect(history, {**metrics, **low_photons}, VARIED).reasons == ("wrong_solution",)


# --- the rules one by one --------------------------------------------------------------------------------------

def evidence_of(history, amplitude=VARIED, twin=None):
    last = history["epochs"][-1] if history["epochs"] else {}
    metrics = {"amp_ssim": last.get("amp_ssim"), "collapse_floor": FLOOR, "final_val_loss": last.get("val_loss")}
    return Evidence.of(history, metrics, amplitude, twin=twin)


def test_each_rule_finds_its_own_failure_and_nothing_in_a_healthy_run():
    from harness.verdict.rules import RULES, collapsed_finding, no_better_than_constant_finding, nonfinite_finding

    healthy = evidence_of(reference_history("20260128"))
    assert [rule(healthy) for tier in RULES for rule in tier] == [None] * sum(map(len, RULES)) and len(RULES[1]) == 2
    blown_up = evidence_of(history_of([0.5, 0.6], [0.09, 0.08],
                                      nonfinite={"step": 40, "epoch": 1, "what": "loss"}))
    finding = nonfinite_finding(blown_up)
    assert (finding.reason, finding.onset_epoch, finding.onset_step) == ("nonfinite", 2, 40)
    assert collapsed_finding(blown_up) is None
    flat = evidence_of(history_of([0.5, 0.2, 0.2], [0.09, 0.3, 0.3], amp_cv=[0.4, 1e-5, 1e-5]), np.ones((30, 30)))
    finding = collapsed_finding(flat)
    assert (finding.reason, finding.onset_epoch) == ("collapsed", 2) and nonfinite_finding(flat) is None
    wrong = evidence_of(reference_history("20260129"))
    assert no_better_than_constant_finding(wrong).reason == "wrong_solution"
    assert nonfinite_finding(wrong) is None and collapsed_finding(wrong) is None


def test_a_nan_or_constant_output_is_not_also_called_a_wrong_solution():
    """The comparison with the object is read only when neither first-tier rule found a failure."""
    collapsed_and_poor = history_of([0.1, 0.1], [0.05, 0.05], amp_cv=[1e-5, 1e-5])
    verdict = detect_from_evidence(evidence_of(collapsed_and_poor, np.ones((30, 30))))
    assert verdict.reasons == ("collapsed",)


def test_a_run_record_holds_every_field_of_the_verdict():
    from dataclasses import fields

    from harness.run.record import RunRecord
    from harness.verdict import record_fields

    assert set(record_fields()) <= {f.name for f in fields(RunRecord)}
    verdict = detect_from_evidence(evidence_of(reference_history("20260129")))
    assert set(verdict.as_record()) == set(record_fields()) and verdict.as_record()["crashed"] is True


# --- measured data: no ground truth; the fit against the data's own references, the object across seeds ---

def measured_verdict(val_loss, amplitude=VARIED, noise=0.02, constant=0.30, amp_cv=None, nonfinite=None,
                     overlap=(0.7, 0.1)):
    history = {"nonfinite": nonfinite, "epochs": [{"epoch": i, "val_loss": v, "amp_cv": c} for i, (v, c) in
                                                  enumerate(zip(val_loss, amp_cv or [0.5] * len(val_loss)))]}
    metrics = {"final_val_loss": val_loss[-1], "fit_noise_floor": noise, "fit_constant_object": constant,
               "overlap_consistency": overlap[0], "overlap_consistency_twin": overlap[1]}
    return detect(history, metrics, amplitude, measured=True)


def test_a_measured_run_that_fits_is_ok_until_its_seeds_judge_its_object_and_one_that_does_not_is_inconclusive():
    limit = 0.02 + (1 - FIT_FRACTION) * (0.30 - 0.02)
    fits = measured_verdict([0.2, 0.1, limit - 0.001])
    assert fits.outcome == "ok" and fits.evidence["measured"] and "agreement with the other seeds" in fits.explanation
    short = measured_verdict([0.2, 0.15, limit + 0.001])
    assert short.outcome == "inconclusive" and "no ground truth" in short.explanation
    # nonfinite and collapsed need no truth: the same rules
    assert measured_verdict([0.2, 0.1], nonfinite={"step": 3, "epoch": 0, "what": "loss"}).reasons == ("nonfinite",)
    assert measured_verdict([0.2, 0.05], amplitude=np.full((20, 20), 0.7), amp_cv=[0.5, 1e-4]).reasons == ("collapsed",)


def test_without_the_photons_the_whole_of_the_constant_object_s_misfit_counts():
    assert fit_threshold({"fit_noise_floor": None, "fit_constant_object": 0.3, "measured": True}) == pytest.approx(
        (1 - FIT_FRACTION) * 0.3)
    assert fit_threshold({"fit_noise_floor": None, "fit_constant_object": 0.3}) == FIT_ERROR  # an old simulated run
    assert measured_verdict([0.2, 0.1], noise=None).evidence["fit_threshold"] == pytest.approx((1 - FIT_FRACTION) * 0.3)
    # the shootout report's table draws each run's fit line from its row: the same line for a measured run
    from harness.run import RunRecord

    row = RunRecord(study="shootout", arm="control", architecture="hybrid", depth=4, seed=1, outcome="ok",
                    fit_constant_object=0.3, evidence={"measured": True}).row()
    assert fit_threshold(row) == pytest.approx((1 - FIT_FRACTION) * 0.3)


def test_a_measured_run_that_fits_with_each_patch_s_twin_is_a_twin_image_on_its_own():
    twin = measured_verdict([0.2, 0.1, 0.05], overlap=(0.3, 0.6))
    assert twin.reasons == ("twin_image",) and twin.onset_epoch == 3 and "point-reflected" in twin.explanation
    assert twin.evidence["overlap_consistency"] == {"direct": 0.3, "twin": 0.6}
    assert measured_verdict([0.2, 0.1, 0.05], overlap=(0.6, 0.3)).outcome == "ok"
    assert measured_verdict([0.2, 0.1, 0.05], overlap=(0.40, 0.40 + OVERLAP_TWIN_MARGIN / 2)).outcome == "ok"
    assert measured_verdict([0.2, 0.1, 0.05], overlap=(float("nan"), float("nan"))).outcome == "ok"  # no overlap
    assert measured_verdict([0.3, 0.25, 0.2], overlap=(0.3, 0.6)).outcome == "inconclusive"   # not fitting: no twin
