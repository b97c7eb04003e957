"""The probe and the far-field forward model."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.errors import UsageError
from harness.physics import (
    far_field_amplitude,
    load_probe_npz,
    make_synthetic_probe,
    normalize_probe,
    probe_support_disk,
)


@settings(max_examples=30, deadline=None)
@given(n=st.sampled_from([8, 16, 32, 64]), batch=st.integers(1, 4), seed=st.integers(0, 2**31 - 1))
def test_forward_model_is_parseval_exact(n, batch, seed):
    generator = torch.Generator().manual_seed(seed)
    wave = torch.complex(torch.randn(batch, n, n, generator=generator, dtype=torch.float64),
                         torch.randn(batch, n, n, generator=generator, dtype=torch.float64))
    amplitude = far_field_amplitude(wave)
    assert amplitude.shape == wave.shape
    torch.testing.assert_close((amplitude**2).sum((-2, -1)), (wave.abs() ** 2).sum((-2, -1)), rtol=1e-10, atol=0)


def test_forward_model_centres_zero_frequency():
    wave = torch.ones(1, 16, 16, dtype=torch.complex64)
    amplitude = far_field_amplitude(wave)[0]
    assert amplitude[8, 8] == pytest.approx(16.0)  # all energy in the DC term, shifted to the centre
    assert amplitude.sum() == pytest.approx(16.0)


def test_synthetic_probe_is_a_blurred_disk_of_radius_n_over_6():
    n = 64
    probe = make_synthetic_probe(n)
    assert probe.shape == (n, n) and probe.dtype == np.complex64
    assert np.all(probe.imag == 0)
    area = np.sum(probe.real > 0.5)
    radius = np.sqrt(area / np.pi)
    assert abs(radius - n / 6) < 1.0
    assert probe.real.min() >= 1e-9 * 0.99


def test_normalised_probe_has_quarter_mean_in_central_disk():
    probe = normalize_probe(make_synthetic_probe(64))
    mask = probe_support_disk(64, 16)
    assert 4 * np.mean(np.abs(probe * mask)) == pytest.approx(1.0, rel=1e-5)


def test_probe_loads_from_npz(tmp_path):
    path = tmp_path / "probe.npz"
    probe = (np.random.default_rng(0).normal(size=(32, 32)) + 1j).astype(np.complex64)
    np.savez(path, probeGuess=probe)
    np.testing.assert_array_equal(load_probe_npz(path, 32), probe)


@pytest.mark.parametrize(
    "content, message",
    [
        ({"other": np.ones((32, 32))}, "no key 'probeGuess'"),
        ({"probeGuess": np.ones((32, 16))}, "square"),
        ({"probeGuess": np.ones((16, 16))}, "but --N is 32"),
        ({"probeGuess": np.full((32, 32), np.nan)}, "non-finite"),
    ],
)
def test_bad_probe_files_name_the_flag_and_file(tmp_path, content, message):
    path = tmp_path / "probe.npz"
    np.savez(path, **content)
    with pytest.raises(UsageError, match=message) as info:
        load_probe_npz(path, 32)
    assert info.value.flag == "--probe-npz" and str(path) in str(info.value)


def test_corrupt_and_missing_probe_files(tmp_path):
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(UsageError, match="not (a readable )?an? NPZ"):
        load_probe_npz(corrupt, 32)
    with pytest.raises(UsageError, match="file not found"):
        load_probe_npz(tmp_path / "missing.npz", 32)
