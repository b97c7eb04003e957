"""The verdict of runs on measured data, completed across seeds: a run that fits the data is judged by its
agreement with the other seeds of its configuration (`evaluate/consensus.py`) — `ok` when it agrees with their
consensus, `crashed` (`wrong_solution`, `twin_image`) when it does not, `inconclusive` when there is no consensus.

Reproducible under a sequential design: the seeds are read in order, and the run at position i among the fitting
runs is judged against the fitting runs up to it (the first MIN_RUNS while there are fewer), so adding later seeds
never changes an earlier run's verdict once MIN_RUNS fitting runs exist. Runs on simulated data, and measured runs
that do not fit, pass unchanged.
"""

from __future__ import annotations

import dataclasses
import zipfile
from functools import lru_cache
from itertools import groupby
from pathlib import Path

import numpy as np

from ..evaluate.consensus import (
    AGREES,
    MIN_RUNS,
    SeedAgreement,
    labels_from_agreements,
    patch_twin_evidence,
    point_reflected_conjugate,
    registered_agreement,
)
from ..run import RunFolder, RunRecord
from ..run.folder import NotARunFolder
from ..verdict.rules import overlap_names_twin, twin_named


def awaits_agreement(record: RunRecord) -> bool:
    """A run on measured data that fits: its verdict is read across seeds."""
    return record.outcome == "ok" and _unjudged_measured(record)


def may_follow(record: RunRecord) -> bool:
    """A run on measured data that does not fit (under-trained): it reconstructs if it agrees with the consensus of
    the fitting runs, as a simulated run that reconstructs is `ok` without fitting."""
    # patches whose twins agree better where the scan overlaps reconstruct no object, whatever the stitched image
    return (record.outcome == "inconclusive" and _unjudged_measured(record)
            and not overlap_names_twin((record.evidence or {}).get("overlap_consistency")))


def _unjudged_measured(record: RunRecord) -> bool:
    evidence = record.evidence or {}
    return bool(evidence.get("measured")) and "agreement" not in evidence and record.run_dir is not None


def with_agreement(records: list[RunRecord]) -> list[RunRecord]:
    """The records with every fitting measured run judged against the other seeds of its configuration."""
    def cell(record: RunRecord) -> tuple:
        return record.study, record.arm, record.depth or 0

    judged: dict[int, RunRecord] = {}
    waiting = sorted((r for r in records if awaits_agreement(r) or may_follow(r)), key=lambda r: (*cell(r), r.seed))
    for _, group in groupby(waiting, key=cell):
        members = list(group)
        fitting = [r for r in members if awaits_agreement(r)]
        for record, result in judge(fitting):
            judged[id(record)] = judged_record(record, result)
        for record, agreement in followers(fitting, [r for r in members if may_follow(r)]):
            judged[id(record)] = record.replace(
                outcome="ok", evidence={**(record.evidence or {}), "agreement": {
                    "label": "agrees", "with_consensus": agreement[0], "consensus_seed": agreement[1]}},
                explanation=f"{record.explanation.split(':')[0] if record.explanation else 'under-trained'}, yet "
                            f"reconstructs the seeds' object: agreement {agreement[0]:.2f} with the consensus of the "
                            f"fitting seeds (seed {agreement[1]})")
    return [judged.get(id(record), record) for record in records]


def followers(fitting: list[RunRecord], others: list[RunRecord]) -> list[tuple[RunRecord, tuple[float, int]]]:
    """The runs that do not fit but agree with the consensus of the fitting runs up to their seed (the first MIN_RUNS
    while fewer), each with its agreement and the consensus's seed."""
    readable = [record for record in fitting if _image(record) is not None]
    agreeing = []
    for record in others:
        if _image(record) is None:
            continue
        labels = _labels_up_to(readable, record.seed)
        if not labels or labels[0].label == "no_consensus" or labels[0].consensus_seed is None:
            continue
        medoid = labels[0].consensus_seed
        value = _agreement(_key(record), _key(next(r for r in readable if r.seed == medoid)), False)
        if value >= AGREES:
            agreeing.append((record, (value, medoid)))
    return agreeing


def judge(fitting: list[RunRecord]) -> list[tuple[RunRecord, SeedAgreement]]:
    """Each fitting run of one configuration (in seed order) with its agreement against the runs up to it."""
    readable = [record for record in fitting if _image(record) is not None]
    by_seed = {record.seed: record for record in readable}
    results = []
    for record in fitting:
        if record not in readable:
            results.append((record, SeedAgreement(record.seed, float("nan"), float("nan"), "no_consensus")))
            continue
        result = next(label for label in _labels_up_to(readable, record.seed) if label.seed == record.seed)
        if result.label == "wrong_solution" and result.consensus_seed is not None:
            result = _patchwise_twin(result, record, by_seed[result.consensus_seed])
        results.append((record, result))
    return results


def _labels_up_to(readable: list[RunRecord], seed: int) -> list[SeedAgreement]:
    """The consensus labels of the readable fitting runs (in seed order) up to `seed`, the first MIN_RUNS while
    fewer: the basis that makes a verdict independent of later seeds."""
    by_seed = {record.seed: record for record in readable}
    count = sum(record.seed <= seed for record in readable)
    return labels_from_agreements([r.seed for r in readable[:max(count, MIN_RUNS)]],
                                  lambda a, b: _agreement(_key(by_seed[a]), _key(by_seed[b]), False),
                                  lambda a, b: _agreement(_key(by_seed[a]), _key(by_seed[b]), True))


def _patchwise_twin(result: SeedAgreement, record: RunRecord, consensus: RunRecord) -> SeedAgreement:
    """A wrong solution whose patches follow the consensus run's point-reflected conjugate patch by patch (a network's
    twin is reflected about the probe's centre in each patch, which the stitched image hides) is a twin image."""
    evidence = _patch_twin(_key(record), _key(consensus))
    return dataclasses.replace(result, label="twin_image") if evidence is not None and twin_named(evidence) else result


def judged_record(record: RunRecord, result: SeedAgreement) -> RunRecord:
    """The record with the agreement's verdict: its outcome, reasons and words, and the agreement in its evidence."""
    evidence = {**(record.evidence or {}), "agreement": {
        "label": result.label, "with_consensus": _finite(result.with_consensus), "with_twin": _finite(result.with_twin),
        "consensus_seed": result.consensus_seed}}
    said = (f"agreement {result.with_consensus:.2f} with the consensus of the seeds (seed {result.consensus_seed}), "
            f"{result.with_twin:.2f} with its point-reflected conjugate")
    fits = record.explanation.split(";")[0] if record.explanation else "fits the data"
    if result.label == "agrees":
        return record.replace(evidence=evidence, explanation=f"{fits}; {said}: reconstructs the seeds' object")
    if result.label == "no_consensus":
        why = ("no majority of the fitting seeds agrees" if np.isfinite(result.with_consensus)
               else f"fewer than {MIN_RUNS} fitting runs (or its reconstruction unreadable)")
        return record.replace(outcome="inconclusive", evidence=evidence,
                              explanation=f"{fits}; no consensus across seeds to judge its object by ({why})")
    what = ("the twin image of the seeds' object" if result.label == "twin_image"
            else "another object than the seeds' consensus")
    return record.replace(outcome="crashed", crashed=True, reasons=(result.label,), onset_epoch=record.n_epochs,
                          evidence=evidence, explanation=f"{fits} but reconstructs {what}: {said}")


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _key(record: RunRecord) -> tuple[str, int]:
    """A run's reconstruction file and its modification time: what an agreement is remembered by."""
    path = Path(str(record.run_dir)) / "recon.npz"
    return str(path), path.stat().st_mtime_ns


def _image(record: RunRecord) -> np.ndarray | None:
    try:
        return _load(*_key(record))
    except (OSError, NotARunFolder):
        return None


@lru_cache(maxsize=64)
def _load(path: str, mtime_ns: int) -> np.ndarray:
    return RunFolder(Path(path).parent).load_reconstruction()[0][0]


@lru_cache(maxsize=256)
def _patch_twin(run: tuple[str, int], consensus: tuple[str, int]) -> dict | None:
    """The per-patch twin evidence of a run against the consensus run's patches (None where either kept none)."""
    try:
        with np.load(run[0]) as archive, np.load(consensus[0]) as reference:
            if not {"object_patches", "probe"} <= set(archive.files) & set(reference.files):
                return None
            return patch_twin_evidence(archive["object_patches"], reference["object_patches"], reference["probe"])
    except (OSError, ValueError, zipfile.BadZipFile):
        return None


@lru_cache(maxsize=4096)
def _agreement(first: tuple[str, int], second: tuple[str, int], reflected: bool) -> float:
    """The first run registered onto the second (onto its point-reflected conjugate when `reflected`): each pair is
    registered once in a process, however often the ledger asks."""
    reference = _load(*second)
    return registered_agreement(_load(*first), point_reflected_conjugate(reference) if reflected else reference)
