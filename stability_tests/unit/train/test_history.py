"""What a run records: the gradient-norm summary over the finite logged norms, and the history as saved."""

import math

import numpy as np
import pytest

from harness.train.history import History


def test_the_grad_norm_summary_reads_the_finite_norms_only():
    norms = [1.0, 2.0, math.inf, 3.0, math.nan, 10.0]
    history = History(steps=[{"grad_norm_pre": value} for value in norms])
    finite = np.array([1.0, 2.0, 3.0, 10.0])
    assert history.grad_norm_summary() == pytest.approx({"grad_norm_mean": finite.mean(), "grad_norm_max": 10.0,
                                                         "grad_norm_p99": np.percentile(finite, 99)})
    assert History().grad_norm_summary() == {"grad_norm_mean": None, "grad_norm_max": None, "grad_norm_p99": None}


def test_the_saved_history_leaves_out_the_last_predictions_and_reads_back_whole():
    history = History(epochs=[{"epoch": 0, "val_loss": 0.5}], stop_reason="collapsed", steps_done=7,
                      last_object_patches=np.zeros((2, 4, 4)))
    saved = history.as_dict()
    assert "last_object_patches" not in saved
    assert History(**saved).as_dict() == saved and History(**saved).val_losses() == [0.5]
