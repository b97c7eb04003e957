"""The fit references without the true object: the Poisson floor from the counts against the true object's own
misfit, at photon counts from plenty to few."""

import dataclasses

import numpy as np
import pytest

from harness.data import get_dataset
from harness.evaluate.fit_reference import fit_references, poisson_floor_from_counts
from harness.physics import normalize_probe
from stability_tests.tiny import TINY_DATASET


@pytest.mark.parametrize("nphotons", [1e9, 1e6, 1e5])
def test_the_floor_from_the_counts_is_the_true_objects_misfit(cache_dir, nphotons):
    test = get_dataset(dataclasses.replace(TINY_DATASET, nphotons=nphotons), cache_dir).test
    measured = test["diffraction"][..., 0]
    truth = fit_references(measured, test["Y_I"][..., 0], test["Y_phi"][..., 0],
                           normalize_probe(np.asarray(test["probeGuess"])))["fit_noise_floor"]
    estimate = poisson_floor_from_counts(measured, float(test["intensity_scale"]))
    assert estimate == pytest.approx(truth, rel=0.05)
