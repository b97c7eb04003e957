"""Quality over every classified run: the performance profile and the paired sign-flip comparison."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.run.record import RunRecord
from harness.study.quality import paired_quality, performance_profile


def run(seed, outcome, ssim, arm="control", floor=0.3):
    return RunRecord(study="shootout", arm=arm, architecture="hybrid", depth=4, seed=seed, outcome=outcome,
                     crashed=outcome == "crashed", amp_ssim=ssim, collapse_floor=floor)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["ok", "crashed", "inconclusive"]), st.floats(0, 1)), max_size=12))
def test_the_profile_counts_crashed_runs_at_their_value_and_no_unclassified_run(runs):
    records = [run(s, outcome, ssim) for s, (outcome, ssim) in enumerate(runs)]
    profile = performance_profile(records)
    counted = [ssim for outcome, ssim in runs if outcome != "inconclusive"]
    assert profile["runs"] == len(counted)
    for threshold, fraction in zip(profile["thresholds"], profile["fraction"]):
        assert fraction == pytest.approx(sum(s >= threshold for s in counted) / len(counted))
    if counted:
        assert profile["share_reconstructed"] == pytest.approx(sum(s >= 0.5 for s in counted) / len(counted))


def test_paired_differences_use_the_seeds_classified_in_both_arms():
    control = [run(1, "ok", 0.8), run(2, "crashed", 0.2), run(3, "inconclusive", 0.4)]
    arm = [run(1, "ok", 0.9, "agc"), run(2, "ok", 0.7, "agc"), run(3, "ok", 0.9, "agc"), run(4, "ok", 0.9, "agc")]
    result = paired_quality(arm, control)
    assert result["pairs"] == 2 and result["mean_difference"] == pytest.approx((0.1 + 0.5) / 2)
    assert result["p_value"] == pytest.approx(2 / 4)   # both positive: 2 of 4 sign assignments as extreme


def test_a_crash_without_a_finite_reconstruction_counts_at_the_bottom_never_dropped():
    records = [run(s, "crashed", None, floor=None) for s in (1, 2, 3)] + [run(4, "ok", 0.9), run(5, "ok", 0.95)]
    profile = performance_profile(records)
    assert profile["runs"] == 5 and profile["share_reconstructed"] == pytest.approx(2 / 5)
    assert profile["fraction"][0] == pytest.approx(2 / 5)           # below even τ = 0
    control = [run(s, "ok", 0.8) for s in (1, 2)]
    paired = paired_quality([run(1, "crashed", None, "agc"), run(2, "ok", 0.8, "agc")], control)
    assert paired["pairs"] == 2 and paired["mean_difference"] == pytest.approx((-1.0 - 0.8) / 2)


def test_one_paired_seed_is_a_test_with_p_one_not_an_error():
    result = paired_quality([run(1, "ok", 0.9, "agc")], [run(1, "ok", 0.5)])
    assert result == {"pairs": 1, "mean_difference": pytest.approx(0.4), "p_value": 1.0, "exact": True}


def test_the_profile_band_covers_the_true_profile_by_simulation():
    """The bootstrap band around the profile at τ = 0.5, for runs whose amp_ssim is uniform on [0, 1]: its
    coverage of the true share 0.5 over 300 simulated arms of 20 runs (percentile bootstrap: roughly nominal)."""
    import numpy as np

    from harness.study.quality import THRESHOLDS, profile_band
    rng = np.random.default_rng(4)
    at = THRESHOLDS.index(0.5)
    covered = 0
    for draw in range(300):
        low, high = profile_band(rng.random(20), draws=500, seed=draw)
        covered += low[at] <= 0.5 <= high[at]
    assert covered / 300 >= 0.90
    found = performance_profile([RunRecord(study="crash_hunt", arm="control", architecture="hybrid", depth=4, seed=s,
                                           outcome="ok", amp_ssim=0.1 * s) for s in range(1, 6)])
    assert all(lo <= f <= hi for lo, f, hi in zip(found["band_low"], found["fraction"], found["band_high"]))
