"""The verdict of measured runs completed across seeds, on constructed reconstructions in run folders: agreeing
runs stay ok, another object is a wrong solution, the reflected conjugate a twin; fewer than three trained runs, or a
consensus no fitting run shares, decide nothing; later seeds never change an earlier verdict; other runs pass
unchanged."""

import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.data.grid_lines import lines_amplitudes
from harness.evaluate.consensus import MIN_RUNS, point_reflected_conjugate
from harness.run import RunFolder, RunRecord
from harness.study.agreement import with_agreement


def _object(seed: int) -> np.ndarray:
    amplitude = lines_amplitudes(1, 80, 40, np.random.default_rng(seed))[0]
    return (0.2 + amplitude) * np.exp(1j * 0.5 * amplitude)


def _record(tmp_path, seed: int, image: np.ndarray, *, outcome="ok", measured=True, noise_seed=0) -> RunRecord:
    folder = RunFolder(tmp_path / f"depth2_seed{seed}")
    folder.path.mkdir()
    noisy = image + 0.02 * np.random.default_rng(noise_seed + seed).standard_normal(image.shape)
    folder.save_reconstruction(noisy[None].astype(np.complex64), None)
    return RunRecord(study="crash_hunt", arm="control", architecture="hybrid", depth=2, seed=seed, outcome=outcome,
                     evidence={"measured": measured}, explanation="fits the data (fit error 0.05 ≤ 0.10); …",
                     n_epochs=8, run_dir=str(folder.path))


def _verdicts(records):
    return [(r.seed, r.outcome, r.reasons) for r in with_agreement(records)]


def test_agreeing_runs_stay_ok_another_object_is_wrong_and_the_reflected_conjugate_a_twin(tmp_path):
    truth = _object(1)
    images = {1: truth, 2: np.roll(truth, (2, -1), axis=(0, 1)) * np.exp(0.7j), 3: truth, 4: _object(99),
              5: point_reflected_conjugate(truth), 6: truth}
    judged = with_agreement([_record(tmp_path, seed, image) for seed, image in images.items()])
    assert [(r.seed, r.outcome, r.reasons) for r in judged] == [
        (1, "ok", ()), (2, "ok", ()), (3, "ok", ()), (4, "crashed", ("wrong_solution",)),
        (5, "crashed", ("twin_image",)), (6, "ok", ())]
    agreement = judged[3].evidence["agreement"]
    assert agreement["label"] == "wrong_solution" and agreement["with_consensus"] < 0.8
    assert judged[3].crashed and judged[3].onset_epoch == 8 and "another object" in judged[3].explanation
    assert judged[0].evidence["agreement"]["with_consensus"] > 0.95


def test_fewer_trained_runs_than_a_consensus_needs_are_inconclusive(tmp_path):
    truth = _object(2)
    records = [_record(tmp_path, seed, truth) for seed in range(1, MIN_RUNS)]
    records.append(_record(tmp_path, 9, truth, outcome="crashed"))          # a crash does not count as fitting
    judged = with_agreement(records)
    assert [r.outcome for r in judged] == ["inconclusive"] * (MIN_RUNS - 1) + ["crashed"]
    assert all("no consensus" in r.explanation for r in judged[:-1])


def test_runs_on_simulated_data_and_measured_runs_that_do_not_fit_pass_unchanged(tmp_path):
    truth = _object(3)
    records = [_record(tmp_path, 1, truth, measured=False), _record(tmp_path, 2, _object(4), outcome="inconclusive")]
    assert with_agreement(records) == records


@settings(max_examples=6, deadline=None)
@given(kinds=st.lists(st.tuples(st.sampled_from(["same", "other", "twin"]), st.sampled_from(["ok", "inconclusive"])),
                     min_size=MIN_RUNS + 1, max_size=6),
       noise=st.integers(0, 1000))
def test_a_later_seed_never_changes_the_verdict_of_an_earlier_one(tmp_path_factory, kinds, noise):
    tmp_path = tmp_path_factory.mktemp("runs")
    truth = _object(5)
    make = {"same": lambda: truth, "other": lambda: _object(6 + noise), "twin": lambda: point_reflected_conjugate(truth)}
    records = [_record(tmp_path, seed, make[kind](), outcome=fit, noise_seed=noise)
               for seed, (kind, fit) in enumerate(kinds, start=1)]
    everything = _verdicts(records)
    for known in range(MIN_RUNS, len(records)):
        assert _verdicts(records[:known]) == everything[:known]


@pytest.mark.parametrize("unreadable", ["missing", "corrupt"])
def test_a_run_whose_reconstruction_cannot_be_read_is_inconclusive_and_the_others_are_judged(tmp_path, unreadable):
    truth = _object(7)
    records = [_record(tmp_path, seed, truth) for seed in range(1, 5)]
    recon = records[1].run_dir + "/recon.npz"
    if unreadable == "missing":
        os.remove(recon)
    else:
        with open(recon, "wb") as handle:
            handle.write(b"truncated")
    assert [r.outcome for r in with_agreement(records)] == ["ok", "inconclusive", "ok", "ok"]


def test_a_run_whose_patches_are_each_the_reflected_conjugate_of_the_consensus_run_s_is_a_twin(
        tmp_path, tiny_params, cache_dir):
    """Under the disk probe a network can fit every pattern with each patch's twin (reflected about the probe's
    centre): the stitched image is then a mosaic that matches no global reflection, but patch by patch it is the
    consensus's twin."""
    import dataclasses

    from harness.data import get_dataset
    from harness.data.ptycho_npz import simulated_as_ptycho_npz
    from harness.evaluate.run_evaluation import stitch_measured
    from harness.evaluate.twin import point_reflect
    from harness.physics import normalize_probe
    from harness.physics.probe import probe_symmetry

    dataset = get_dataset(dataclasses.replace(tiny_params, probe_source="disk"), cache_dir)
    arrays, truth = simulated_as_ptycho_npz(dataset, "test")
    probe = normalize_probe(arrays["probe"])
    offsets = np.exp(1j * np.random.default_rng(4).uniform(-np.pi, np.pi, (truth.shape[0], 1, 1)))
    twin = np.conj(point_reflect(truth, tuple(probe_symmetry(probe)["shift"]))) * offsets
    records = []
    for seed, patches in enumerate([truth, truth * 1.01, truth * 0.99, twin], start=1):
        folder = RunFolder(tmp_path / f"depth2_seed{seed}")
        folder.path.mkdir()
        folder.save_reconstruction(stitch_measured(patches, arrays["xcoords"], arrays["ycoords"]), None,
                                   object_patches=patches, probe=probe)
        records.append(RunRecord(study="crash_hunt", arm="control", architecture="hybrid", depth=2, seed=seed,
                                 outcome="ok", evidence={"measured": True}, n_epochs=8, run_dir=str(folder.path)))
    judged = with_agreement(records)
    assert [(r.outcome, r.reasons) for r in judged] == [("ok", ())] * 3 + [("crashed", ("twin_image",))]
    assert judged[3].evidence["agreement"]["with_consensus"] < 0.8    # the stitched mosaic alone says: wrong object


def test_a_run_that_does_not_fit_but_shows_the_fitting_seeds_object_reconstructs_it(tmp_path):
    """As a simulated run that reconstructs is ok without fitting: an under-trained run that agrees with the
    consensus of the fitting runs; one that shows another object, or whose patches are twins where the scan
    overlaps, stays inconclusive (it never fit: no crash)."""
    truth = _object(8)
    records = [_record(tmp_path, seed, truth) for seed in (1, 2, 3)]
    follows = _record(tmp_path, 4, truth, outcome="inconclusive")
    other = _record(tmp_path, 5, _object(98), outcome="inconclusive")
    twins = _record(tmp_path, 6, truth, outcome="inconclusive")
    twins = twins.replace(evidence={**twins.evidence, "overlap_consistency": {"direct": 0.2, "twin": 0.6}})
    judged = with_agreement([*records, follows, other, twins])
    assert [r.outcome for r in judged] == ["ok"] * 4 + ["inconclusive", "inconclusive"]
    assert "yet reconstructs the seeds' object" in judged[3].explanation
    assert judged[3].evidence["agreement"]["with_consensus"] > 0.95


def test_under_trained_runs_complete_a_consensus_only_with_a_fitting_run_among_those_that_agree(tmp_path):
    """Where few runs fit in the epochs given, the under-trained runs that agree with them make the consensus that
    judges both; under-trained runs that agree only with each other show no object any run fits the data with."""
    truth = _object(9)
    fitting = [_record(tmp_path, seed, truth) for seed in (1, 2)]
    wrong = _record(tmp_path, 3, _object(97))
    under = [_record(tmp_path, seed, truth, outcome="inconclusive") for seed in (4, 5, 6)]
    judged = with_agreement([*fitting, wrong, *under])
    assert [(r.outcome, r.reasons) for r in judged] == [
        ("ok", ()), ("ok", ()), ("crashed", ("wrong_solution",)), ("ok", ()), ("ok", ()), ("ok", ())]
    assert "yet reconstructs the seeds' object" in judged[3].explanation
    assert all(r.evidence["agreement"]["with_consensus"] > 0.95 for r in judged[3:])
    # the under-trained runs agree with each other, but the one fitting run shows another object: no consensus
    alone = with_agreement([wrong, *under])
    assert [r.outcome for r in alone] == ["inconclusive"] * 4 and alone[1:] == under
    assert "no consensus" in alone[0].explanation
    assert with_agreement(under) == under
