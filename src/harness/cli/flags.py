"""Flags shared by several subcommands, with the original wrapper's names and meanings."""

from __future__ import annotations

import argparse

from ..data import DatasetParams
from ..errors import UsageError
from ..profiles import Profile


def add_dataset_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("data (SPEC §3)")
    group.add_argument("--N", type=int, default=64, help="patch size in pixels (default 64)")
    group.add_argument("--gridsize", type=int, default=1, help="patches per solution region side (only 1)")
    group.add_argument("--set-phi", action="store_true", help="give the object a phase (else φ = 0)")
    group.add_argument("--nimgs-train", type=int, default=1, help="training object canvases")
    group.add_argument("--nimgs-test", type=int, default=1, help="test object canvases")
    group.add_argument("--nphotons", type=float, default=1e9, help="mean photons per training patch")
    group.add_argument("--probe-npz", default=None, help="NPZ file with a complex N×N 'probeGuess'")
    group.add_argument("--probe-defocus", type=float, default=0.0, metavar="RADIANS",
                       help="defocus phase of the synthetic probe at its disk's edge (default 0: the real, "
                            "point-symmetric disk under which a patch and its twin image fit the same pattern)")
    group.add_argument("--cache-dir", default=None, help="dataset cache folder (default $HARNESS_CACHE_DIR or fixtures/.cache)")
    group.add_argument("--profile", default="paper",
                       help="paper (default: the data and epochs the flags mean) | quick | smoke | auto (paper on a GPU, "
                            "else quick)")
    group.add_argument("--train-stride", type=int, default=None, help="training scan stride in px (default: the profile's)")
    group.add_argument("--test-stride", type=int, default=None, help="test scan stride in px (default: the profile's)")
    group.add_argument("--object-size", type=int, default=None, help="object canvas in px (default: the profile's)")


def dataset_params(args: argparse.Namespace, profile: Profile) -> DatasetParams:
    return DatasetParams(
        N=args.N,
        gridsize=args.gridsize,
        set_phi=args.set_phi,
        nimgs_train=args.nimgs_train,
        nimgs_test=args.nimgs_test,
        nphotons=args.nphotons,
        probe_npz=args.probe_npz,
        probe_defocus=args.probe_defocus,
        object_size=args.object_size or profile.object_size,
        n_lines=profile.n_lines,
        train_stride=args.train_stride or profile.train_stride,
        test_stride=args.test_stride or profile.test_stride,
    )


def add_model_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model (SPEC §4)")
    group.add_argument("--architectures", nargs="+", default=["hybrid"], help="hybrid and/or stable_hybrid")
    group.add_argument("--fno-blocks", type=int, default=4, help="depth: encoder levels of the U-Net")
    group.add_argument("--fno-width", type=int, default=32, help="channels of the first level")
    group.add_argument("--fno-modes", type=int, default=12, help="Fourier modes per spectral layer")
    group.add_argument("--torch-max-hidden-channels", type=int, default=None, help="cap on hidden channels")


# Deeper than this needs patches of more than 2048 px: a typing error, not a configuration to record.
MAX_DEPTH = 12


def check_model_flags(args: argparse.Namespace) -> None:
    """Bad model input as UsageError; a depth too deep for N (up to MAX_DEPTH) is not bad input but `infeasible`."""
    from ..models import ARCHITECTURES
    from ..models.plan import max_feasible_depth

    for architecture in args.architectures:
        if architecture not in ARCHITECTURES:
            raise UsageError("--architectures", architecture, f"unknown architecture (known: {', '.join(ARCHITECTURES)})")
    if args.fno_blocks < 1:
        raise UsageError("--fno-blocks", args.fno_blocks, "the depth must be at least 1")
    if args.fno_blocks > MAX_DEPTH:
        raise UsageError("--fno-blocks", args.fno_blocks,
                         f"at most {MAX_DEPTH}: depth d halves the patch d−1 times, so it needs a patch size divisible "
                         f"by 2^(d−1) ({2 ** (MAX_DEPTH - 1)} px at depth {MAX_DEPTH}); at --N {args.N} the deepest is "
                         f"{max_feasible_depth(args.N)}")
    if args.fno_width < 1:
        raise UsageError("--fno-width", args.fno_width, "must be at least 1")
    if args.fno_modes < 1:
        raise UsageError("--fno-modes", args.fno_modes, "must be at least 1")
    cap = args.torch_max_hidden_channels
    if cap is not None and cap < args.fno_width:
        raise UsageError("--torch-max-hidden-channels", cap, f"must be at least --fno-width ({args.fno_width})")
