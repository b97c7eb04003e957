"""Registration recovers a known shift, phase ramp and global phase; agreement is a normalised correlation."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.data.grid_lines import lines_amplitudes, phase_from_amplitude
from harness.evaluate.alignment import UPSAMPLE, agreement, apply_registration, interior, register, shift_image

SIZE = 96


@pytest.fixture(scope="module")
def grid_lines_object():
    amplitude = lines_amplitudes(1, SIZE, 40, np.random.default_rng(7))[0]
    return amplitude * np.exp(1j * phase_from_amplitude(amplitude))


def _moved(image, shift, ramp, phase):
    rows, cols = np.arange(SIZE)[:, None], np.arange(SIZE)[None, :]
    return shift_image(image, shift) * np.exp(1j * (ramp[0] * rows + ramp[1] * cols + phase))


@settings(max_examples=12, deadline=None)
@given(shift=st.tuples(st.floats(-4, 4), st.floats(-4, 4)), ramp=st.tuples(st.floats(-0.2, 0.2), st.floats(-0.2, 0.2)),
       phase=st.floats(-np.pi, np.pi))
def test_a_known_shift_ramp_and_global_phase_are_recovered(grid_lines_object, shift, ramp, phase):
    image = _moved(grid_lines_object, shift, ramp, phase)
    registration = register(image, grid_lines_object)
    # the shift to the grid the refinement searches, 1/UPSAMPLE px (measured: at most 0.049 over 200 draws; not
    # half a step: a half-pixel shift of an even-sized image is ambiguous at the Nyquist row, and the shifted test
    # image wraps at its edges); the ramp, refined by the plane fit, far below its grid's 2π/SIZE/UPSAMPLE
    assert registration.shift == pytest.approx((-shift[0], -shift[1]), abs=1.5 / UPSAMPLE)
    assert registration.ramp == pytest.approx((-ramp[0], -ramp[1]), abs=1e-3)
    aligned = apply_registration(image, registration)
    assert agreement(aligned, grid_lines_object, interior(aligned.shape, registration), kind="complex") > 0.99


@settings(max_examples=25, deadline=None)
@given(scale=st.floats(1e-3, 1e3), seed=st.integers(0, 1000))
def test_agreement_is_one_for_a_scaled_copy_and_symmetric(scale, seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(16, 16)) + 1j * rng.normal(size=(16, 16))
    b = rng.normal(size=(16, 16)) + 1j * rng.normal(size=(16, 16))
    for kind in ("amplitude", "complex"):
        assert agreement(a, scale * a, kind=kind) == pytest.approx(1.0)
        assert agreement(a, b, kind=kind) == pytest.approx(agreement(b, a, kind=kind))
    # the amplitude kind is blind to phases, each pixel its own
    assert agreement(a, np.abs(a) * np.exp(1j * rng.uniform(-np.pi, np.pi, a.shape))) == pytest.approx(1.0)


def test_the_interior_leaves_out_what_a_shift_wrapped(grid_lines_object):
    registration = register(_moved(grid_lines_object, (3.4, -1.2), (0, 0), 0), grid_lines_object)
    mask = interior((SIZE, SIZE), registration)
    assert mask.sum() == (SIZE - 2 * 5) * (SIZE - 2 * 3)
