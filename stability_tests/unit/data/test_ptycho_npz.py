"""The field's NPZ file: every key, layout and dtype variant read to one form, every malformed file refused in one
line, what the values are (counts or amplitudes, and the photons they imply), and our simulated data written in
the format and read back."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.data.ptycho_npz import (
    measurement_domain,
    raster_centres,
    read_ptycho_npz,
    simulated_as_ptycho_npz,
    write_ptycho_npz,
)
from harness.errors import UsageError
from harness.physics.forward import predicted_amplitude


@pytest.fixture(scope="module")
def exported(tiny_dataset):
    """Our tiny simulated test split as the field's file, and the truth kept aside."""
    return simulated_as_ptycho_npz(tiny_dataset, "test")


def _write(path, arrays, **changes):
    """The file with keys replaced (a value None removes the key)."""
    contents = {"diff3d": arrays["diffraction"], "probeGuess": arrays["probe"], "xcoords": arrays["xcoords"],
                "ycoords": arrays["ycoords"]}
    contents.update(changes)
    np.savez(path, **{key: value for key, value in contents.items() if value is not None})
    return path


def test_our_simulated_data_read_back_gives_its_amplitudes_probe_positions_and_photons(tmp_path, exported, tiny_dataset):
    arrays, truth = exported
    write_ptycho_npz(tmp_path / "sim.npz", **arrays)
    data = read_ptycho_npz(tmp_path / "sim.npz")
    np.testing.assert_array_equal(data.diffraction, tiny_dataset.test["diffraction"][..., 0])
    np.testing.assert_array_equal(data.probe, arrays["probe"].astype(np.complex64))
    assert data.notes == () and data.stored == "'diff3d' float32 (M, N, N)"
    # the simulation stores √counts / s: the smallest value is one photon, so the photon scale is s itself
    assert data.domain.kind == "amplitude_of_counts"
    assert data.domain.photon_scale == pytest.approx(float(tiny_dataset.test["intensity_scale"]), rel=1e-5)
    # s was chosen so that a training pattern carries nphotons on average (Parseval; Poisson adds 1/√counts)
    mean_training = np.mean(np.sum((tiny_dataset.train["diffraction"][..., 0].astype(np.float64)
                                    * data.domain.photon_scale) ** 2, axis=(1, 2)))
    assert mean_training == pytest.approx(tiny_dataset.params.nphotons, rel=1e-3)
    counts = data.photons_per_pattern()
    np.testing.assert_allclose(counts, np.round(counts), atol=0.5)   # whole photons per pattern
    # the truth kept aside is the object the forward model saw: its far field is the noise-free pattern
    clean = predicted_amplitude(torch.from_numpy(truth), torch.from_numpy(data.probe)).numpy()
    relative = np.abs(clean - data.diffraction).mean() / data.diffraction.mean()
    assert relative < 0.05
    # positions: the raster's centres, row-major, one stride apart
    params = tiny_dataset.params
    assert np.min(data.xcoords) == params.N / 2 and np.diff(np.unique(data.xcoords)).tolist() == [
        float(params.test_stride)] * (np.unique(data.xcoords).size - 1)


def test_every_layout_key_and_dtype_variant_reads_to_the_same_data(tmp_path, exported):
    arrays, _ = exported
    reference = read_ptycho_npz(_write(tmp_path / "ref.npz", arrays))
    amplitudes, probe = arrays["diffraction"], arrays["probe"]
    variants = {
        "legacy layout": dict(diff3d=np.moveaxis(amplitudes, 0, 2)),
        "trailing channel": dict(diff3d=amplitudes[..., None]),
        "alias key": dict(diff3d=None, diffraction=amplitudes),
        "both keys, equal": dict(diffraction=amplitudes),
        "probe with a channel": dict(probeGuess=probe[..., None]),
        "probe modes": dict(probeGuess=np.stack([probe, 0.1 * probe[::-1]])),
    }
    for name, changes in variants.items():
        data = read_ptycho_npz(_write(tmp_path / "v.npz", arrays, **changes))
        np.testing.assert_array_equal(data.diffraction, reference.diffraction, err_msg=name)
        np.testing.assert_array_equal(data.probe, reference.probe.astype(np.complex64), err_msg=name)
        assert data.domain == reference.domain, name
    legacy = read_ptycho_npz(_write(tmp_path / "v.npz", arrays, diff3d=np.moveaxis(amplitudes, 0, 2)))
    assert legacy.notes == ("'diff3d' is in the legacy (N, N, M) layout: read as (M, N, N)",)
    modes = read_ptycho_npz(_write(tmp_path / "v.npz", arrays, probeGuess=np.stack([probe, probe, probe])))
    assert modes.notes == ("'probeGuess' holds 3 probe modes: the first is used",)


def test_counts_become_amplitudes_with_their_photons(tmp_path, exported):
    """Raw detector counts (uint16, as measured files such as fly001 hold them, or whole numbers as floats, or
    intensities in some unit) are read as √counts, and their photons are the counts' sum."""
    arrays, _ = exported
    scale = read_ptycho_npz(_write(tmp_path / "ref.npz", arrays)).domain.photon_scale
    counts = np.round((arrays["diffraction"].astype(np.float64) * scale) ** 2)
    assert counts.max() > np.iinfo(np.uint16).max   # 1e9 photons: more than uint16 holds in the brightest pixels
    for stored, unit in ((counts.astype(np.uint32), 1.0), (counts.astype(np.float32), 1.0),
                         ((counts * 0.25).astype(np.float32), 0.25)):
        data = read_ptycho_npz(_write(tmp_path / "c.npz", arrays, diff3d=stored))
        assert data.domain.kind == "counts"
        np.testing.assert_allclose(data.diffraction, np.sqrt(counts * unit), rtol=1e-6)
        np.testing.assert_allclose(data.photons_per_pattern(), counts.sum(axis=(1, 2)), rtol=1e-5)
        assert data.notes == ("'diff3d' holds intensities: the amplitudes are their square roots",)


def test_values_that_are_not_counted_are_amplitudes_with_photons_unknown(tmp_path, exported):
    arrays, _ = exported
    wobble = 1.0 + 0.01 * np.sin(np.arange(arrays["diffraction"].size)).reshape(arrays["diffraction"].shape)
    data = read_ptycho_npz(_write(tmp_path / "p.npz", arrays, diff3d=(arrays["diffraction"] * wobble).astype(np.float32)))
    assert (data.domain.kind, data.photons_per_pattern()) == ("amplitude", None)
    assert "photons unknown" in data.domain.how


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), unit=st.floats(1e-4, 1e3), rate=st.floats(0.5, 30.0))
def test_the_lattice_of_counted_values_names_the_domain_and_its_photon_scale(seed, unit, rate):
    """For counts k ~ Poisson(rate) stored as k·u they are intensities with one photon = u; stored as √k·u,
    amplitudes with photon scale 1/u — by the definitions, whatever u."""
    counts = np.random.default_rng(seed).poisson(rate, size=(4, 16, 16)).astype(np.float64)
    counts.flat[0] = 1.0    # one pixel of one photon: the unit
    counts.flat[1:30] = 2.0    # and whole counts that are not squares, which tell k from √k
    intensity = measurement_domain((counts * unit).astype(np.float32))
    assert intensity.kind == "counts" and intensity.photon_scale == pytest.approx(1 / np.sqrt(unit), rel=1e-5)
    amplitude = measurement_domain((np.sqrt(counts) * unit).astype(np.float32))
    assert amplitude.kind == "amplitude_of_counts" and amplitude.photon_scale == pytest.approx(1 / unit, rel=1e-5)


@pytest.mark.parametrize("changes, words", [
    (dict(diff3d=None), "no diffraction patterns: expected key 'diff3d' or 'diffraction'"),
    (dict(diff3d=np.zeros((5, 8))), "key 'diff3d' has shape (5, 8): expected (M, N, N)"),
    (dict(xcoords=np.arange(3.0), ycoords=np.arange(3.0)), "expected (M, N, N) square patterns with M = 3"),
    (dict(ycoords=np.arange(4.0)), "key 'ycoords' has 4 positions"),
    (dict(xcoords=None), "no key 'xcoords'"),
    (dict(xcoords=np.full(81, np.nan)), "key 'xcoords' holds non-finite positions"),
    (dict(probeGuess=None), "no key 'probeGuess'"),
    (dict(probeGuess=np.ones((5, 5), np.complex64)), "key 'probeGuess' has shape (5, 5)"),
    (dict(probeGuess=np.zeros((32, 32), np.complex64)), "not a finite, non-zero complex probe"),
    (dict(diffraction=np.ones((81, 32, 32), np.float32)), "keys 'diff3d' and 'diffraction' both present and different"),
    (dict(diff3d=-np.ones((81, 32, 32), np.float32)), "holds negative values"),
    (dict(diff3d=np.full((81, 32, 32), np.nan, np.float32)), "holds 82944 non-finite values"),
    (dict(diff3d=np.zeros((81, 32, 32), np.float32)), "is zero everywhere"),
    (dict(Y=np.zeros((3, 32, 32), np.complex64)), "key 'Y' has shape (3, 32, 32)"),
    (dict(scan_index=np.arange(3)), "key 'scan_index' has shape (3,)"),
])
def test_a_malformed_file_is_refused_naming_the_key_and_what_was_expected(tmp_path, exported, changes, words):
    arrays, _ = exported
    assert arrays["diffraction"].shape == (81, 32, 32)   # the sizes the cases are written for
    with pytest.raises(UsageError) as refused:
        read_ptycho_npz(_write(tmp_path / "bad.npz", arrays, **changes))
    message = str(refused.value)
    assert message.startswith(f"--data-npz {tmp_path / 'bad.npz'}: ") and words in message and "\n" not in message


def test_a_file_that_is_not_an_npz_is_one_line(tmp_path):
    (tmp_path / "notes.npz").write_text("diffraction patterns, honest")
    for path, words in ((tmp_path / "notes.npz", "not a readable NPZ file"), (tmp_path / "missing.npz", "file not found")):
        with pytest.raises(UsageError, match=words):
            read_ptycho_npz(path)


def test_raster_centres_are_the_centres_of_the_patches_cut():
    x, y = raster_centres(size=40, patch=8, stride=16, nimgs=2)
    assert list(zip(x, y))[:3] == [(4.0, 4.0), (20.0, 4.0), (36.0, 4.0)] and len(x) == 18
