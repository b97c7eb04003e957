"""Agreement across seeds on constructed reconstructions: the twin and a wrong object are named against the
consensus, whatever shift, ramp and phase each run carries; no majority, no consensus; and what it cannot tell."""

import numpy as np
import pytest

from harness.data.grid_lines import lines_amplitudes, phase_from_amplitude
from harness.evaluate.alignment import shift_image
from harness.evaluate.consensus import AGREES, consensus_labels, point_reflected_conjugate

SIZE = 96


def _object(seed):
    amplitude = lines_amplitudes(1, SIZE, 40, np.random.default_rng(seed))[0]
    return amplitude * np.exp(1j * phase_from_amplitude(amplitude))


def _run(image, seed):
    """The object as one run reconstructs it: moved, with a phase ramp and offset, and noise."""
    rng = np.random.default_rng(seed)
    rows, cols = np.arange(SIZE)[:, None], np.arange(SIZE)[None, :]
    ramp, shift = rng.uniform(-0.1, 0.1, 2), rng.uniform(-2, 2, 2)
    moved = shift_image(image, tuple(shift)) * np.exp(1j * (ramp[0] * rows + ramp[1] * cols + rng.uniform(-3, 3)))
    return moved + 0.02 * np.abs(image).mean() * (rng.normal(size=image.shape) + 1j * rng.normal(size=image.shape))


@pytest.fixture(scope="module")
def truth():
    return _object(1)


def test_copies_agree_the_twin_and_a_wrong_object_are_named(truth):
    runs = {seed: _run(truth, seed) for seed in (11, 12, 13, 14)}
    runs[15] = _run(point_reflected_conjugate(truth), 15)
    runs[16] = _run(_object(2), 16)
    labels = {result.seed: result for result in consensus_labels(runs)}
    assert [labels[seed].label for seed in sorted(labels)] == ["agrees"] * 4 + ["twin_image", "wrong_solution"]
    assert all(labels[seed].with_consensus >= AGREES for seed in (11, 12, 13, 14))
    assert labels[15].with_twin > labels[15].with_consensus + 0.1


def test_without_a_majority_or_with_too_few_runs_there_is_no_consensus(truth):
    split = {11: _run(truth, 11), 12: _run(truth, 12), 13: _run(_object(2), 13), 14: _run(_object(3), 14)}
    assert {result.label for result in consensus_labels(split)} == {"no_consensus"}
    assert {result.label for result in consensus_labels({11: _run(truth, 11), 12: _run(truth, 12)})} == {"no_consensus"}


def test_what_it_cannot_tell_every_seed_finding_the_same_wrong_object(truth):
    """Without ground truth a shared wrong object is the consensus: the runs that found it agree."""
    wrong = _object(5)
    labels = consensus_labels({seed: _run(wrong, seed) for seed in (11, 12, 13)} | {14: _run(truth, 14)})
    assert [result.label for result in labels] == ["agrees", "agrees", "agrees", "wrong_solution"]


def test_a_run_whose_patches_are_the_consensus_patches_reflected_is_named_by_the_patch_evidence(tiny_params, cache_dir):
    """Under the disk probe a network's twin is each patch reflected about the probe's centre: against the
    consensus run's patches (the object with noise), a run with the same patches, each with its own phase offset,
    follows the consensus, and one with the reflected conjugate patches its reflection."""
    import dataclasses

    from harness.data import get_dataset
    from harness.evaluate.consensus import patch_twin_evidence
    from harness.evaluate.twin import point_reflect
    from harness.physics import normalize_probe
    from harness.physics.probe import probe_symmetry

    test = get_dataset(dataclasses.replace(tiny_params, probe_source="disk"), cache_dir).test
    probe = normalize_probe(test["probeGuess"])
    rng = np.random.default_rng(3)
    truth = (test["Y_I"][..., 0] / np.abs(probe)) * np.exp(1j * test["Y_phi"][..., 0])
    consensus = truth * (1 + 0.05 * rng.normal(size=truth.shape))
    offsets = np.exp(1j * rng.uniform(-np.pi, np.pi, (truth.shape[0], 1, 1)))
    follows = patch_twin_evidence(truth * offsets, consensus, probe)
    twin = patch_twin_evidence(np.conj(point_reflect(truth, tuple(probe_symmetry(probe)["shift"]))) * offsets,
                               consensus, probe)
    assert follows["median_direct"] > 0.9 > follows["median_twin"]
    assert twin["median_twin"] > 0.9 > twin["median_direct"] and twin["twin_better_fraction"] > 0.5
