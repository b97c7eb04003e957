"""The amplitude losses against their definitions: the mean absolute error, and the Poisson negative
log-likelihood of counts X² at rate A², each divided by the batch's mean measured amplitude."""

import numpy as np
import pytest
import torch
from scipy import special, stats

from harness.train.losses import LOSS_MODES, amplitude_loss


def amplitudes(seed: int):
    generator = torch.Generator().manual_seed(seed)
    predicted = torch.rand(4, 8, 8, generator=generator, dtype=torch.float64) * 3 + 0.1
    measured = torch.poisson(torch.full((4, 8, 8), 4.0, dtype=torch.float64), generator=generator).sqrt()
    return predicted, measured


def test_mae_is_the_mean_absolute_error_over_the_mean_amplitude():
    predicted, measured = amplitudes(1)
    expected = np.mean(np.abs(predicted.numpy() - measured.numpy())) / (measured.numpy().mean() + 1e-8)
    assert float(amplitude_loss(predicted, measured, "mae")) == pytest.approx(expected, rel=1e-12)


def test_poisson_is_the_negative_log_likelihood_of_the_counts_up_to_a_constant():
    predicted, measured = amplitudes(2)
    rate, counts = predicted.numpy() ** 2, np.rint(measured.numpy() ** 2)
    # -log P(k | rate) = rate - k·log(rate) + log(k!): the last term does not depend on the model, and is left out
    terms = -stats.poisson.logpmf(counts, rate) - special.gammaln(counts + 1)
    expected = terms.mean() / (measured.numpy().mean() + 1e-8)
    assert float(amplitude_loss(predicted, measured, "poisson")) == pytest.approx(expected, rel=1e-6)


def test_an_unknown_mode_names_the_known_ones():
    with pytest.raises(ValueError, match="known: " + ", ".join(LOSS_MODES)):
        amplitude_loss(*amplitudes(3), "huber")
