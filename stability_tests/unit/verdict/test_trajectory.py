"""A run's course over epochs: the peak it reached before a failure, and the epoch from which a failure lasted."""

import math

from harness.verdict.trajectory import Trajectory, is_finite


def trajectory(amp_ssim, amp_cv=None):
    return Trajectory(amp_ssim=list(amp_ssim), amp_cv=list(amp_cv or [1.0] * len(amp_ssim)),
                      fit_error=[None] * len(amp_ssim))


def test_is_finite_is_a_finite_number_only():
    assert is_finite(0.5) and is_finite(3)
    assert not any(is_finite(value) for value in (None, math.nan, math.inf, -math.inf, "1.0"))


def test_the_peak_is_the_highest_finite_value_at_its_first_epoch_and_only_before_the_epoch_asked():
    course = trajectory([0.2, 0.6, None, 0.6, math.nan, 0.1])
    assert course.peak_amp_ssim() == (0.6, 2)
    assert course.peak_amp_ssim(before_epoch=2) == (0.2, 1)
    assert course.peak_amp_ssim(before_epoch=1) == (None, None)


def test_the_onset_of_a_final_streak_is_where_the_failure_began_for_good():
    course = trajectory([0.5, 0.1, 0.5, 0.1, 0.1, 0.1])
    assert course.onset_of_final_streak("amp_ssim", lambda value: value < 0.2) == 4
    assert trajectory([0.1, 0.5]).onset_of_final_streak("amp_ssim", lambda value: value < 0.2) is None
    assert trajectory([0.1, math.nan]).onset_of_final_streak("amp_ssim", lambda value: value < 0.2) is None


def test_a_history_becomes_its_trajectory():
    history = {"epochs": [{"amp_ssim": 0.3, "amp_cv": 0.2, "val_fit_error": 0.4},
                          {"amp_ssim": 0.5, "amp_cv": 0.1, "val_fit_error": 0.2}]}
    course = Trajectory.from_history(history)
    assert (course.n_epochs, course.amp_ssim, course.amp_cv, course.fit_error) == (2, [0.3, 0.5], [0.2, 0.1], [0.4, 0.2])
