"""`harness dataset`: build or reuse the cached dataset and place train.npz / test.npz."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ..data import get_dataset
from ..data.measured import amplitude_scale
from ..data.ptycho_npz import MeasuredDataset, read_ptycho_npz, simulated_as_ptycho_npz, write_ptycho_npz
from ..data.scan import scan_step
from ..data.simulation import resolve_probe
from ..evaluate.fit_reference import constant_object_misfit, poisson_floor_from_counts
from ..fsutil import atomic_save, ensure_writable_dirs, place_file
from ..physics.probe import normalize_probe, probe_symmetry, twin_phrase
from ..profiles import load_profile
from ..run.configure import dataset_params
from ..settings import add_flags, check_numbers


def add_parser(subparsers, name: str) -> None:
    parser = subparsers.add_parser(name, help="build or verify the simulated dataset cache")
    add_flags(parser, ("data",))
    parser.add_argument("--output-dir", default=None, help="place train.npz and test.npz here (links to the cache)")
    parser.add_argument("--write-ptycho-npz", default=None, metavar="DIR",
                        help="also write the simulated splits in that format, DIR/train.npz and DIR/test.npz, with their "
                             "true object patches kept aside in DIR/train_truth.npz and DIR/test_truth.npz (key Y)")


def summary_lines(dataset) -> list[str]:
    train, test = dataset.train, dataset.test
    lines = [
        f"dataset {dataset.key} ({'built' if dataset.built else 'reused from cache'}): {dataset.directory}",
        f"  patches: train {train['diffraction'].shape[0]}, test {test['diffraction'].shape[0]}"
        f" (N={dataset.params.N}, strides {dataset.params.train_stride}/{dataset.params.test_stride})",
        f"  intensity scale {float(train['intensity_scale']):.6g}, norm_Y_I train {float(train['norm_Y_I']):.6g}"
        f" test {float(test['norm_Y_I']):.6g}",
        probe_line(dataset),
    ]
    for key in ("diffraction", "Y_I", "Y_phi"):
        values = train[key]
        lines.append(f"  train {key:<11} mean {float(np.mean(values)):.6g}  std {float(np.std(values)):.6g}")
    return lines


def probe_line(dataset) -> str:
    symmetry = dataset.metadata["probe_symmetry"]
    return f"  probe {dataset.params.probe_label}: {twin_phrase(symmetry['asymmetry'], symmetry['exact_twin'])}"


def measured_summary_lines(data: MeasuredDataset) -> list[str]:
    """A measured file, before any training: what it holds and what its values say."""
    photons = data.photons_per_pattern()
    x, y = data.xcoords, data.ycoords
    symmetry = probe_symmetry(data.probe)
    lines = [
        f"dataset file {data.path} (content sha256 {data.digest[:16]})",
        f"  patterns: {data.n_patterns} of {data.N}×{data.N}, stored as {data.stored}",
        f"  values: {data.domain.how}",
        f"  for training: {amplitude_scale(data, normalize_probe(data.probe))[1]}",
        "  photons per pattern: " + (f"mean {photons.mean():.4g} (min {photons.min():.4g}, max {photons.max():.4g})"
                                     if photons is not None else "unknown (the values are not counts)"),
        f"  positions: x {x.min():.1f} to {x.max():.1f} px, y {y.min():.1f} to {y.max():.1f} px; "
        f"step {scan_step(x, y):.2f} px (median distance to the nearest other position)",
        f"  probe: {twin_phrase(symmetry['asymmetry'], symmetry['exact_twin'])}",
        "  objectGuess: " + (f"{data.object_guess.shape[0]}×{data.object_guess.shape[1]}, a reconstruction by another "
                             "method (a reference, not ground truth)" if data.object_guess is not None else "none"),
        fit_references_line(data),
    ]
    return lines + [f"  note: {note}" for note in data.notes]


def fit_references_line(data: MeasuredDataset) -> str:
    """What a run's fit error will be read against, from the data and the probe alone."""
    probe = normalize_probe(data.probe)
    floor = ("Poisson floor " + f"{poisson_floor_from_counts(data.diffraction, data.domain.photon_scale):.4g}"
             if data.domain.photon_scale is not None else "Poisson floor unavailable (photons unknown)")
    return (f"  fit references (relative MAE of the amplitudes): a constant object "
            f"{constant_object_misfit(data.diffraction, probe):.4g}; {floor}")


def write_field_files(dataset, folder: Path) -> None:
    """Both splits as the field's files, as a measured dataset would come, with the truth in files of its own."""
    for split in ("train", "test"):
        arrays, truth = simulated_as_ptycho_npz(dataset, split)
        write_ptycho_npz(folder / f"{split}.npz", **arrays)
        atomic_save(folder / f"{split}_truth.npz", lambda temporary, truth=truth: np.savez(temporary, Y=truth))
        print(f"wrote {folder / f'{split}.npz'} ({truth.shape[0]} patterns; the true patches in {split}_truth.npz)")


def run(args: argparse.Namespace) -> int:
    if args.data_npz is not None:
        for path, flag in ((args.data_npz, "--data-npz"), (args.test_data_npz, "--test-data-npz")):
            if path is not None:
                print("\n".join(measured_summary_lines(read_ptycho_npz(path, flag))))
        return 0
    check_numbers(args)
    profile = load_profile(args.profile)
    params = dataset_params(args, profile)
    params.validate()
    resolve_probe(params)  # a bad probe file is refused before any folder is made
    ensure_writable_dirs([(folder, flag) for folder, flag in ((args.output_dir, "--output-dir"),
                                                              (args.cache_dir, "--cache-dir"),
                                                              (args.write_ptycho_npz, "--write-ptycho-npz")) if folder])
    output_dir = Path(args.output_dir) if args.output_dir else None
    dataset = get_dataset(params, args.cache_dir)
    if output_dir is not None:
        for split in ("train", "test"):
            place_file(dataset.path(split), Path(output_dir) / f"{split}.npz")
    if args.write_ptycho_npz is not None:
        write_field_files(dataset, Path(args.write_ptycho_npz))
    print(f"profile {profile.name}")
    print("\n".join(summary_lines(dataset)))
    return 0
