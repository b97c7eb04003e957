"""Overlap consistency, the constraint ptychography rests on: patches cut from one object agree where the scan
overlaps; patches that each fit their pattern with their own twin do not, until each is reflected back."""

import dataclasses

import numpy as np
import pytest

from harness.data import get_dataset
from harness.data.ptycho_npz import simulated_as_ptycho_npz
from harness.evaluate.overlap import lit_mask, overlap_consistency, overlap_evidence
from harness.evaluate.twin import point_reflect
from harness.physics import normalize_probe
from harness.physics.probe import probe_symmetry


@pytest.fixture(scope="module", params=["disk", "fzp"])
def scan(request, tiny_params, cache_dir):
    """The tiny training raster (stride 8 at N=32: neighbours' lit regions overlap) and its true patches."""
    dataset = get_dataset(dataclasses.replace(tiny_params, probe_source=request.param), cache_dir)
    arrays, truth = simulated_as_ptycho_npz(dataset, "train")
    return arrays["xcoords"], arrays["ycoords"], normalize_probe(arrays["probe"]), truth


def test_patches_of_one_object_agree_and_each_patch_s_twin_does_not(scan):
    x, y, probe, truth = scan
    noisy = truth * (1 + 0.03 * np.random.default_rng(0).standard_normal(truth.shape))
    offsets = np.exp(1j * np.random.default_rng(1).uniform(-np.pi, np.pi, (truth.shape[0], 1, 1)))
    assert overlap_consistency(truth, x, y, probe) == pytest.approx(1.0)
    found = overlap_evidence(noisy * offsets, x, y, probe)      # a phase offset per patch changes no amplitude
    assert found["direct"] > 0.8 and found["twin"] < found["direct"] - 0.3
    twins = np.conj(point_reflect(noisy, tuple(probe_symmetry(probe)["shift"]))) * offsets
    reflected = overlap_evidence(twins, x, y, probe)
    assert reflected["twin"] > 0.8 and reflected["direct"] < reflected["twin"] - 0.3


def test_positions_too_far_apart_to_share_a_lit_pixel_tell_nothing(scan):
    x, y, probe, truth = scan
    rows, cols = np.nonzero(lit_mask(probe))
    apart = max(np.ptp(rows), np.ptp(cols)) + 1
    keep = (np.rint(x - x.min()) % apart == 0) & (np.rint(y - y.min()) % apart == 0)
    assert np.isnan(overlap_consistency(truth[keep], x[keep], y[keep], probe))
