"""The twin-image ambiguity: the physics that makes it, the probe that changes it, and the
per-patch evidence the verdict reads."""

import dataclasses

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.data import get_dataset
from harness.evaluate import fit_references, patch_correlations, point_reflect, twin_evidence
from harness.physics import far_field_amplitude, make_synthetic_probe, normalize_probe
from harness.physics.probe import probe_symmetry, synthetic_disk_radius


def far_field(object_patch: np.ndarray, probe: np.ndarray) -> np.ndarray:
    return far_field_amplitude(torch.from_numpy((object_patch * probe).astype(np.complex128))).numpy()


def random_object(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform(0.2, 1.0, (n, n)) * np.exp(1j * rng.uniform(-np.pi, np.pi, (n, n)))


@settings(max_examples=20, deadline=None)
@given(n=st.sampled_from([16, 32, 64]), seed=st.integers(0, 10_000))
def test_the_reflected_conjugate_object_fits_the_same_pattern_under_the_symmetric_probe(n, seed):
    probe = normalize_probe(make_synthetic_probe(n)).astype(np.complex128)
    obj = random_object(n, seed)
    twin = np.conj(point_reflect(obj))
    np.testing.assert_allclose(far_field(twin, probe), far_field(obj, probe), rtol=1e-9, atol=1e-12)
    assert not np.allclose(np.abs(twin), np.abs(obj))  # a different object, same data


@settings(max_examples=20, deadline=None)
@given(n=st.sampled_from([32, 64]), seed=st.integers(0, 10_000), defocus=st.floats(1.0, 6.0))
def test_a_defocused_probe_removes_the_exact_twin_but_a_phase_curved_twin_still_fits(n, seed, defocus):
    probe = normalize_probe(make_synthetic_probe(n, defocus)).astype(np.complex128)
    obj = random_object(n, seed)
    plain_twin = np.conj(point_reflect(obj))
    assert not np.allclose(far_field(plain_twin, probe), far_field(obj, probe), rtol=1e-3)
    # |P| is still point-symmetric, so conj(ψ(−r)) = O'·P with O' = conj(O(−r))·conj(P(−r))/P(r):
    # the reflected amplitude with an extra phase, which a network can still output.
    curved_twin = plain_twin * np.conj(point_reflect(probe)) / probe
    np.testing.assert_allclose(np.abs(curved_twin), np.abs(point_reflect(obj)), rtol=1e-9)
    np.testing.assert_allclose(far_field(curved_twin, probe), far_field(obj, probe), rtol=1e-7, atol=1e-9)


def test_defocused_probe_has_the_disk_modulus_and_the_stated_edge_phase():
    n, defocus = 64, 3.0
    flat, curved = make_synthetic_probe(n), make_synthetic_probe(n, defocus)
    np.testing.assert_allclose(np.abs(curved), np.abs(flat), rtol=1e-6)
    assert np.all(flat.imag == 0)
    coords = np.arange(n) - (n - 1) / 2
    radius = np.hypot(coords[:, None], coords[None, :])
    edge = synthetic_disk_radius(n)
    inside = radius <= edge  # where the phase has not wrapped yet (3 rad at the edge)
    np.testing.assert_allclose(np.angle(curved[inside]), defocus * (radius[inside] / edge) ** 2, atol=1e-5)
    assert abs(edge - n / 6) < 0.5


@pytest.mark.parametrize("source", ["disk", "fzp"])
def test_patch_correlations_tell_the_object_from_its_reflection(tiny_params, cache_dir, source):
    test = get_dataset(dataclasses.replace(tiny_params, probe_source=source), cache_dir).test
    probe = normalize_probe(test["probeGuess"])
    y_i = test["Y_I"][..., 0]
    truth = (y_i / np.abs(probe)) * np.exp(1j * test["Y_phi"][..., 0])
    direct, twin = patch_correlations(truth, y_i, probe)
    shift = tuple(probe_symmetry(probe)["shift"])  # the reflection about the probe's own centre
    reflected_direct, reflected_twin = patch_correlations(np.conj(point_reflect(truth, shift)), y_i, probe)
    valid = np.isfinite(direct)
    assert valid.mean() > 0.9
    np.testing.assert_allclose(direct[valid], 1.0, atol=1e-5)
    np.testing.assert_allclose(reflected_twin[valid], 1.0, atol=1e-5)
    np.testing.assert_allclose(reflected_direct[valid], twin[valid], atol=1e-5)  # the same pair, swapped
    right, wrong = twin_evidence(direct, twin), twin_evidence(reflected_direct, reflected_twin)
    assert right["median_direct"] > right["median_twin"] and right["twin_better_fraction"] < 0.5
    assert wrong["median_twin"] > wrong["median_direct"] and wrong["twin_better_fraction"] > 0.5
    assert right["patches"] == valid.sum()


def test_twin_evidence_of_no_valid_patch_is_none():
    assert twin_evidence(np.array([np.nan]), np.array([np.nan])) is None


def test_fit_references_noise_floor_and_best_constant(tiny_dataset):
    test = tiny_dataset.test
    probe = normalize_probe(test["probeGuess"])
    y_i, phase, measured = test["Y_I"][..., 0], test["Y_phi"][..., 0], test["diffraction"][..., 0]
    noiseless = far_field(y_i * np.exp(1j * phase), np.exp(1j * np.angle(probe))).astype(np.float32)
    assert fit_references(noiseless, y_i, phase, probe)["fit_noise_floor"] == pytest.approx(0.0, abs=1e-5)
    references = fit_references(measured, y_i, phase, probe)
    assert 0 < references["fit_noise_floor"] < 0.05 < references["fit_constant_object"] < 1
    # the weighted median is the best constant: no other constant fits better
    probe_far_field = far_field(np.ones_like(probe), probe)
    for constant in np.linspace(0.05, 2.0, 40):
        error = np.abs(constant * probe_far_field - measured).mean() / measured.mean()
        assert error >= references["fit_constant_object"] - 1e-6
