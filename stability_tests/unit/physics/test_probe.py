"""A probe file the forward model cannot use is one error naming the file and why."""

import numpy as np
import pytest

from harness.errors import UsageError
from harness.physics import load_probe_npz


def write(path, **arrays):
    np.savez(path, **arrays)
    return path


BAD_PROBES = [
    (lambda p: write(p, probeGuess=np.zeros((32, 32), complex)), "zero on the central disk"),
    (lambda p: write(p, probeGuess=np.full((32, 32), "a")), "not numbers"),
    (lambda p: (p.write_text("not an archive"), p)[1], "not an NPZ file"),
    (lambda p: write(p, other=np.ones((32, 32))), "no key 'probeGuess'"),
    (lambda p: write(p, probeGuess=np.ones((16, 16))), "is 16×16 but --N is 32"),
    (lambda p: write(p, probeGuess=np.full((32, 32), np.nan)), "non-finite"),
]


@pytest.mark.parametrize("make, reason", BAD_PROBES, ids=[reason for _, reason in BAD_PROBES])
def test_an_unusable_probe_file_is_refused_naming_it(tmp_path, make, reason):
    path = make(tmp_path / "probe.npz")
    with pytest.raises(UsageError, match=reason) as caught:
        load_probe_npz(path, 32)
    assert caught.value.flag == "--probe-npz" and str(path) in str(caught.value)


def test_a_usable_probe_loads_as_complex64(tmp_path):
    probe = np.exp(1j * np.linspace(0, 1, 32 * 32)).reshape(32, 32)
    loaded = load_probe_npz(write(tmp_path / "probe.npz", probeGuess=probe), 32)
    assert loaded.dtype == np.complex64 and np.allclose(loaded, probe, atol=1e-6)
