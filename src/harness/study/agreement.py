"""The verdict of runs on measured data, completed across seeds: the runs of a configuration that trained (they fit
the data, or they are under-trained but not overlap twins) are compared with each other (`evaluate/consensus.py`). A
fitting run is `ok` when it agrees with their consensus, `crashed` (`wrong_solution`, `twin_image`) when it does not,
`inconclusive` when there is no consensus; an under-trained run that agrees reconstructs (`ok`), else it stays
`inconclusive` (it never fit: no crash). A consensus that no fitting run agrees with is none.

Reproducible under a sequential design: the seeds are read in order, and the run at position i among the trained
runs is judged against the trained runs up to it (the first MIN_RUNS while there are fewer), so adding later seeds
never changes an earlier run's verdict once MIN_RUNS trained runs exist. Runs on simulated data, and measured runs
that crashed or are overlap twins, pass unchanged.
"""

from __future__ import annotations

import dataclasses
import zipfile
from functools import lru_cache
from itertools import groupby
from pathlib import Path

import numpy as np

from ..evaluate.consensus import (
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
    """A run on measured data that does not fit (under-trained): it takes part in the consensus, and reconstructs if it
    agrees with it, as a simulated run that reconstructs is `ok` without fitting."""
    # patches whose twins agree better where the scan overlaps reconstruct no object, whatever the stitched image
    return (record.outcome == "inconclusive" and _unjudged_measured(record)
            and not overlap_names_twin((record.evidence or {}).get("overlap_consistency")))


def _unjudged_measured(record: RunRecord) -> bool:
    evidence = record.evidence or {}
    return bool(evidence.get("measured")) and "agreement" not in evidence and record.run_dir is not None


def with_agreement(records: list[RunRecord]) -> list[RunRecord]:
    """The records with every measured run that trained (it fits, or it may follow) judged against the other seeds of
    its configuration."""
    def cell(record: RunRecord) -> tuple:
        return record.study, record.arm, record.depth or 0

    judged: dict[int, RunRecord] = {}
    waiting = sorted((r for r in records if awaits_agreement(r) or may_follow(r)), key=lambda r: (*cell(r), r.seed))
    for _, group in groupby(waiting, key=cell):
        for record, result in judge(list(group)):
            if awaits_agreement(record):
                judged[id(record)] = judged_record(record, result)
            elif result.label == "agrees":
                judged[id(record)] = followed_record(record, result)
    return [judged.get(id(record), record) for record in records]


def judge(trained: list[RunRecord]) -> list[tuple[RunRecord, SeedAgreement]]:
    """Each trained run of one configuration (in seed order) with its agreement against the trained runs up to it;
    a consensus that no fitting run agrees with is none (runs that never fit show no object to hold them to)."""
    readable = [record for record in trained if _image(record) is not None]
    by_seed = {record.seed: record for record in readable}
    results = []
    for record in trained:
        if record not in readable:
            results.append((record, SeedAgreement(record.seed, float("nan"), float("nan"), "no_consensus")))
            continue
        result = next(label for label in _labels_up_to(readable, record.seed) if label.seed == record.seed)
        if result.label == "wrong_solution" and result.consensus_seed is not None and awaits_agreement(record):
            result = _patchwise_twin(result, record, by_seed[result.consensus_seed])   # only a fitting run is named
        results.append((record, result))
    return results


def _labels_up_to(readable: list[RunRecord], seed: int) -> list[SeedAgreement]:
    """The consensus labels of the readable trained runs (in seed order) up to `seed`, the first MIN_RUNS while
    fewer: the basis that makes a verdict independent of later seeds."""
    by_seed = {record.seed: record for record in readable}
    count = sum(record.seed <= seed for record in readable)
    labels = labels_from_agreements([r.seed for r in readable[:max(count, MIN_RUNS)]],
                                    lambda a, b: _agreement(_key(by_seed[a]), _key(by_seed[b]), False),
                                    lambda a, b: _agreement(_key(by_seed[a]), _key(by_seed[b]), True))
    if any(label.label == "agrees" and awaits_agreement(by_seed[label.seed]) for label in labels):
        return labels
    return [dataclasses.replace(label, label="no_consensus") for label in labels]


def _patchwise_twin(result: SeedAgreement, record: RunRecord, consensus: RunRecord) -> SeedAgreement:
    """A wrong solution whose patches follow the consensus run's point-reflected conjugate patch by patch (a network's
    twin is reflected about the probe's centre in each patch, which the stitched image hides) is a twin image."""
    evidence = _patch_twin(_key(record), _key(consensus))
    return dataclasses.replace(result, label="twin_image") if evidence is not None and twin_named(evidence) else result


def judged_record(record: RunRecord, result: SeedAgreement) -> RunRecord:
    """The record with the agreement's verdict: its outcome, reasons and words, and the agreement in its evidence."""
    evidence = _with_agreement_evidence(record, result)
    said = (f"agreement {result.with_consensus:.2f} with the consensus of the seeds (seed {result.consensus_seed}), "
            f"{result.with_twin:.2f} with its point-reflected conjugate")
    fits = record.explanation.split(";")[0] if record.explanation else "fits the data"
    if result.label == "agrees":
        return record.replace(evidence=evidence, explanation=f"{fits}; {said}: reconstructs the seeds' object")
    if result.label == "no_consensus":
        why = ("no majority of the trained seeds agrees, or no fitting seed among them" if np.isfinite(result.with_consensus)
               else f"fewer than {MIN_RUNS} trained runs, or its reconstruction unreadable")
        return record.replace(outcome="inconclusive", evidence=evidence,
                              explanation=f"{fits}; no consensus across seeds to judge its object by ({why})")
    what = ("the twin image of the seeds' object" if result.label == "twin_image"
            else "another object than the seeds' consensus")
    return record.replace(outcome="crashed", crashed=True, reasons=(result.label,), onset_epoch=record.n_epochs,
                          evidence=evidence, explanation=f"{fits} but reconstructs {what}: {said}")


def followed_record(record: RunRecord, result: SeedAgreement) -> RunRecord:
    """An under-trained run that agrees with the consensus: it reconstructs the seeds' object without fitting."""
    evidence = _with_agreement_evidence(record, result)
    under_trained = record.explanation.split(":")[0] if record.explanation else "under-trained"
    return record.replace(outcome="ok", evidence=evidence,
                          explanation=f"{under_trained}, yet reconstructs the seeds' object: agreement "
                                      f"{result.with_consensus:.2f} with the consensus of the seeds "
                                      f"(seed {result.consensus_seed})")


def _with_agreement_evidence(record: RunRecord, result: SeedAgreement) -> dict:
    return {**(record.evidence or {}), "agreement": {
        "label": result.label, "with_consensus": _finite(result.with_consensus), "with_twin": _finite(result.with_twin),
        "consensus_seed": result.consensus_seed}}


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
