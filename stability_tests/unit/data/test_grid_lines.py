"""The simulated object: lines blurred into a non-negative amplitude, a phase within (−π, π) that follows it."""

import numpy as np
import pytest

from harness.data.grid_lines import draw_lines, lines_amplitudes, phase_from_amplitude


def test_lines_are_drawn_from_the_generator_and_only_ones_are_set():
    canvas = draw_lines(64, 5, np.random.default_rng(3))
    assert set(np.unique(canvas)) == {0.0, 1.0} and canvas.sum() >= 5
    assert np.array_equal(canvas, draw_lines(64, 5, np.random.default_rng(3)))
    assert not np.array_equal(canvas, draw_lines(64, 5, np.random.default_rng(4)))


def test_the_amplitude_is_non_negative_structured_and_cropped_to_the_object():
    amplitudes = lines_amplitudes(2, 48, 40, np.random.default_rng(0))
    assert amplitudes.shape == (2, 48, 48) and amplitudes.min() >= 0 and amplitudes.std() > 0
    assert not np.array_equal(amplitudes[0], amplitudes[1])


def test_the_phase_is_bounded_and_increases_with_the_amplitude():
    amplitude = lines_amplitudes(1, 48, 40, np.random.default_rng(1))
    phase = phase_from_amplitude(amplitude)
    assert np.all(np.abs(phase) < np.pi)
    flat_a, flat_p = amplitude.ravel(), phase.ravel()
    ranks = np.argsort(flat_a)
    assert np.all(np.diff(flat_p[ranks]) >= -1e-12)        # monotone in the amplitude
    assert phase_from_amplitude(amplitude)[amplitude == amplitude.max()] == pytest.approx(
        np.pi * np.tanh(amplitude.max() / 2 / (3 * amplitude.mean())))
