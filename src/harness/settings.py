"""The settings of a run: every flag's name and default, their checks, and the translation into RunConfig.

`harness run` and the studies share this module: an arm in fixtures/studies.toml is written with the
flag names below (without the leading --), goes through the same parser and the same checks, and so
means exactly what the same flags mean on the command line. Every default lives here.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from .data.params import DatasetParams
from .errors import UsageError
from .models.plan import GeneratorPlan
from .profiles import Profile, load_profile
from .train.config import TrainConfig

# The flags' defaults are the records' own: the paper protocol's data (DatasetParams), the model's width
# and modes (GeneratorPlan) and the training (TrainConfig, whose seed is the study's first).
DATA, MODEL, TRAIN = DatasetParams(), GeneratorPlan("hybrid", 4), TrainConfig()
DEFAULT_SEED = TRAIN.seed
# `harness run` means the paper protocol (the original wrapper's meaning of its flags); the studies pick
# what the machine can do (paper on a GPU, else quick).
RUN_PROFILE = "paper"
STUDY_PROFILE = "auto"
DEFAULT_ARCHITECTURE = MODEL.architecture
DEFAULT_DEPTH = MODEL.depth
# Deeper than this needs patches of more than 2048 px: a typing error, not a configuration to record.
MAX_DEPTH = 12


def add_dataset_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("data")
    group.add_argument("--N", type=int, default=None, help=f"patch size in pixels (default: the profile's, else {DATA.N})")
    group.add_argument("--gridsize", type=int, default=DATA.gridsize, help="patches per solution region side (only 1)")
    group.add_argument("--set-phi", action="store_true", help="give the object a phase (else φ = 0)")
    group.add_argument("--nimgs-train", type=int, default=DATA.nimgs_train, help="training object canvases")
    group.add_argument("--nimgs-test", type=int, default=DATA.nimgs_test, help="test object canvases")
    group.add_argument("--nphotons", type=float, default=DATA.nphotons, help="mean photons per training patch")
    group.add_argument("--probe-npz", default=None, help="NPZ file with a complex N×N 'probeGuess'")
    group.add_argument("--probe-source", default=None, metavar="PRESET",
                       help=f"the probe: a preset of fixtures/probes.toml — fzp (a zone plate's, point-asymmetric), "
                            f"disk (alias ideal_disk: real and point-symmetric, so the twin image fits exactly), or "
                            f"one you add (default {DATA.probe_source}; disk when --probe-npz or --probe-defocus is "
                            f"given, which replace or defocus the disk)")
    group.add_argument("--probe-defocus", type=float, default=DATA.probe_defocus, metavar="RADIANS",
                       help="defocus phase of the synthetic probe at its disk's edge (default 0: the real, "
                            "point-symmetric disk under which a patch and its twin image fit the same pattern)")
    group.add_argument("--cache-dir", default=None,
                       help="dataset cache folder (default $HARNESS_CACHE_DIR or fixtures/.cache)")
    group.add_argument("--profile", default=RUN_PROFILE,
                       help=f"{RUN_PROFILE} (default: the data and epochs the flags mean) | quick | smoke | auto "
                            "(paper on a GPU, else quick)")
    group.add_argument("--train-stride", type=int, default=None, help="training scan stride in px (default: the profile's)")
    group.add_argument("--test-stride", type=int, default=None, help="test scan stride in px (default: the profile's)")
    group.add_argument("--object-size", type=int, default=None, help="object canvas in px (default: the profile's)")


def add_model_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model")
    group.add_argument("--architectures", nargs="+", default=[DEFAULT_ARCHITECTURE], help="hybrid and/or stable_hybrid")
    group.add_argument("--fno-blocks", type=int, default=DEFAULT_DEPTH, help="depth: encoder levels of the U-Net")
    group.add_argument("--fno-width", type=int, default=None,
                       help=f"channels of the first level (default: the profile's, else {MODEL.width})")
    group.add_argument("--fno-modes", type=int, default=MODEL.modes, help="Fourier modes per spectral layer")
    group.add_argument("--torch-max-hidden-channels", type=int, default=None,
                       help="cap on hidden channels (default: the profile's, else none)")


def add_run_flags(parser: argparse.ArgumentParser) -> None:
    add_dataset_flags(parser)
    add_model_flags(parser)
    group = parser.add_argument_group("training")
    group.add_argument("--seed", type=int, nargs="+", default=[DEFAULT_SEED],
                       help="drives init, data order and all randomness; several seeds train as one group")
    group.add_argument("--n-seeds", type=int, default=None, metavar="K",
                       help="K seeds counted up from --seed, trained as one group (seed-batched)")
    group.add_argument("--objects-per-seed", action="store_true",
                       help="each seed also draws its own training and test objects and Poisson noise, so P_crash "
                            "is a rate over objects too (default: one object pair for every seed, the original "
                            "protocol)")
    group.add_argument("--torch-epochs", type=int, default=None, help="training epochs (default: the profile's)")
    group.add_argument("--nepochs", type=int, default=None, help="alias of --torch-epochs (the original wrapper's)")
    group.add_argument("--torch-batch-size", type=int, default=TRAIN.batch_size)
    group.add_argument("--torch-infer-batch-size", type=int, default=TRAIN.infer_batch_size,
                       help="batch size for validation and prediction")
    group.add_argument("--torch-optimizer", default=TRAIN.optimizer, help="adam | adamw | sgd")
    group.add_argument("--torch-learning-rate", type=float, default=TRAIN.learning_rate)
    group.add_argument("--torch-weight-decay", type=float, default=TRAIN.weight_decay)
    group.add_argument("--torch-betas", type=float, nargs=2, default=TRAIN.betas, metavar=("BETA1", "BETA2"))
    group.add_argument("--torch-grad-clip", type=float, default=TRAIN.grad_clip, help="clip value; ≤ 0 means no clipping")
    group.add_argument("--torch-grad-clip-algorithm", default=TRAIN.grad_clip_algorithm,
                       help="norm | value | agc | agc-per-tensor")
    group.add_argument("--torch-loss-mode", default=TRAIN.loss_mode, help="mae | poisson")
    group.add_argument("--torch-scheduler", default=TRAIN.scheduler,
                       help="Default | Exponential | WarmupCosine | ReduceLROnPlateau")
    group.add_argument("--torch-lr-warmup-epochs", type=int, default=TRAIN.warmup_epochs)
    group.add_argument("--torch-lr-min-ratio", type=float, default=TRAIN.min_lr_ratio)
    group.add_argument("--torch-log-grad-norm", action="store_true", help="keep global grad norms in the history")
    group.add_argument("--torch-grad-norm-log-freq", type=int, default=TRAIN.grad_norm_log_freq, help="log every k steps")
    group.add_argument("--bf16", action="store_true",
                       help="bfloat16 autocast for convolutions (FFTs stay float32); for GPUs")
    group.add_argument("--no-channels-last", action="store_true",
                       help="keep NCHW convolutions (channels-last is the default: same math, faster on CPU)")
    group.add_argument("--collapse-patience", type=int, default=None,
                       help="stop after K collapsed epochs in a row (default: the profile's; 0 = never)")
    where = parser.add_argument_group("where and how")
    where.add_argument("--output-dir", default=None, help="the run folder (a subfolder per architecture when several)")
    where.add_argument("--runs-dir", default="runs", help="root of runs/<study>/<arm>/depth<d>_seed<s>/ (default runs)")
    where.add_argument("--study", default="adhoc", help="study name for the default folder layout")
    where.add_argument("--arm", default=None, help="arm name (default: the architecture)")
    where.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    where.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    where.add_argument("--group-size", type=int, default=None, metavar="K",
                       help="seeds trained together as one stacked model (default: as GPU memory allows; 1 on a CPU)")
    where.add_argument("--rerun", action="store_true",
                       help="retrain even when a finished run (or a checkpoint) with this config exists")
    where.add_argument("--checkpoint-interval", type=float, default=None, metavar="SECONDS",
                       help="least training time between checkpoints, written at epoch ends (default: automatic, at "
                            "least a minute and 50 times a write's duration apart, at most 2%% of the training "
                            "time; 0: every epoch)")
    where.add_argument("--no-checkpoints", action="store_true", help="write no checkpoints (an interrupted run starts over)")
    where.add_argument("--keep-checkpoint", action="store_true", help="keep the last checkpoint when the run finishes")


# --- the numbers' ranges -----------------------------------------------------------------------------

INF = float("inf")
# Every numeric flag: (smallest, largest) accepted, both inclusive, and whether it counts things (an
# integer). Floats must also be finite. The bounds past the physics are there so that a typing error
# (1e300 photons, 10^21 as a seed, 100000 threads) is refused with its flag, not met inside a library.
NUMBERS = {
    "--N": (8, 2048, int), "--gridsize": (1, 1, int), "--nimgs-train": (1, 64, int), "--nimgs-test": (1, 64, int),
    "--nphotons": (1e-3, 1e15, float), "--probe-defocus": (-1e3, 1e3, float),
    "--train-stride": (1, 4096, int), "--test-stride": (1, 4096, int), "--object-size": (8, 16384, int),
    "--fno-width": (1, 4096, int), "--fno-modes": (1, 1024, int),
    "--torch-max-hidden-channels": (1, 65536, int),
    "--seed": (0, 2**63 - 1, int), "--n-seeds": (1, 10000, int),
    "--torch-epochs": (0, 1_000_000, int), "--nepochs": (0, 1_000_000, int),
    "--torch-batch-size": (1, 1 << 20, int), "--torch-infer-batch-size": (1, 1 << 20, int),
    "--torch-learning-rate": (1e-12, 1e3, float), "--torch-weight-decay": (0.0, 1e3, float),
    "--torch-betas": (0.0, 0.999999, float), "--torch-grad-clip": (-1e12, 1e12, float),
    "--torch-lr-warmup-epochs": (0, 1_000_000, int), "--torch-lr-min-ratio": (0.0, 1.0, float),
    "--torch-grad-norm-log-freq": (1, 1 << 30, int), "--collapse-patience": (0, 1_000_000, int),
    "--threads": (1, 4096, int), "--group-size": (1, 10000, int), "--checkpoint-interval": (0.0, 1e9, float),
}
FOLDERS = ("--output-dir", "--runs-dir", "--cache-dir")


def _attribute(flag: str) -> str:
    return flag.removeprefix("--").replace("-", "_")


def check_number(flag: str, value, low, high, kind) -> None:
    """UsageError naming the flag unless value is a finite number within [low, high] (an integer for counts)."""
    import math

    if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and not isinstance(value, int)):
        raise UsageError(flag, value, "must be " + ("a whole number" if kind is int else "a number"))
    if not math.isfinite(value):
        raise UsageError(flag, value, "must be a finite number")
    if not low <= value <= high:
        raise UsageError(flag, value, f"must be within [{low:g}, {high:g}]")


def check_numbers(args: argparse.Namespace) -> None:
    """Every numeric flag present in `args` in its range and finite; every folder flag not empty."""
    for flag, (low, high, kind) in NUMBERS.items():
        value = getattr(args, _attribute(flag), None)
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if item is not None:
                check_number(flag, item, low, high, kind)
    for flag in FOLDERS:
        if (folder := getattr(args, _attribute(flag), None)) is not None:
            check_folder(flag, folder)


def check_folder(flag: str, folder: str) -> Path:
    """The folder a flag or option names: not empty, not a file (UsageError naming it)."""
    if folder == "":
        raise UsageError(flag, "''", "names no folder (give a path, or leave the flag out)")
    path = Path(folder)
    if path.exists() and not path.is_dir():
        raise UsageError(flag, folder, "is a file, not a folder")
    return path


def name_list(text: str | None, option: str, leave_out: str = "the fixture's") -> list[str] | None:
    """'a,b' (or 'a b') → ["a", "b"]; None when the option is not given; UsageError when it names none or
    one twice."""
    if text is None:
        return None
    return _distinct(text.replace(",", " ").split(), text, option, leave_out)


def int_list(text: str | None, option: str, low: float, high: float) -> list[int] | None:
    """'4,6' → [4, 6]; None when the option is not given; UsageError for anything else."""
    if text is None:
        return None
    try:
        values = [int(part) for part in text.replace(",", " ").split()]
    except ValueError:
        raise UsageError(option, repr(text), "expected whole numbers separated by commas") from None
    for value in _distinct(values, text, option, "the fixture's"):
        check_number(option, value, low, high, int)
    return values


def _distinct(values: list, text: str, option: str, leave_out: str) -> list:
    if not values:
        raise UsageError(option, repr(text), f"names none (leave the option out for {leave_out})")
    if len(set(values)) != len(values):
        raise UsageError(option, text, "a value is given twice")
    return values


# --- translation -----------------------------------------------------------------------------------


def scaled(args: argparse.Namespace, profile: Profile | None) -> argparse.Namespace:
    """The flags with the model and patch scale filled in where none was given: the profile's, else the
    records' defaults (see Profile.scale). A flag given on the command line or in a study table wins."""
    values = {"N": (profile and profile.patch_size) or DATA.N,
              "fno_width": (profile and profile.width) or MODEL.width,
              "torch_max_hidden_channels": (profile and profile.max_hidden_channels) or MODEL.max_hidden_channels}
    filled = argparse.Namespace(**vars(args))
    for name, value in values.items():
        if getattr(filled, name, None) is None:
            setattr(filled, name, value)
    return filled


def dataset_params(args: argparse.Namespace, profile: Profile) -> DatasetParams:
    args = scaled(args, profile)
    return DatasetParams(
        N=args.N,
        gridsize=args.gridsize,
        set_phi=args.set_phi,
        nimgs_train=args.nimgs_train,
        nimgs_test=args.nimgs_test,
        nphotons=args.nphotons,
        probe_npz=args.probe_npz,
        probe_defocus=args.probe_defocus,
        probe_source=probe_source(args),
        object_size=profile.object_size if args.object_size is None else args.object_size,
        n_lines=profile.n_lines,
        train_stride=profile.train_stride if args.train_stride is None else args.train_stride,
        test_stride=profile.test_stride if args.test_stride is None else args.test_stride,
    )


def probe_source(args: argparse.Namespace) -> str:
    """The preset asked for; without one, the disk where a probe file or a disk defocus is given (they
    replace or change the disk), else the default preset."""
    if args.probe_source is not None:
        return args.probe_source
    if args.probe_npz is not None or args.probe_defocus:
        from .physics.probe_presets import DISK

        return DISK
    return DATA.probe_source


def model_plans(args: argparse.Namespace, profile: Profile | None = None):
    """One GeneratorPlan per --architectures entry (UsageError naming the flag; the numbers' ranges are
    check_numbers'), at the profile's scale where the flags give none. A depth too deep for N (up to
    MAX_DEPTH) is not bad input: such a run is recorded `infeasible`."""
    from .models.plan import max_feasible_depth
    from .models.registry import UnknownArchitecture, architecture, check_extra

    args = scaled(args, profile)

    for name in args.architectures:
        try:
            architecture(name)
            check_extra(name)
        except UnknownArchitecture as exc:
            raise UsageError("--architectures", name, str(exc)) from None
    if args.fno_blocks < 1:
        raise UsageError("--fno-blocks", args.fno_blocks, "the depth must be at least 1")
    if args.fno_blocks > MAX_DEPTH:
        raise UsageError("--fno-blocks", args.fno_blocks,
                         f"at most {MAX_DEPTH}: depth d halves the patch d−1 times, so it needs a patch size divisible "
                         f"by 2^(d−1) ({2 ** (MAX_DEPTH - 1)} px at depth {MAX_DEPTH}); at --N {args.N} the deepest is "
                         f"{max_feasible_depth(args.N)}")
    cap = args.torch_max_hidden_channels
    if cap is not None and cap < args.fno_width:
        raise UsageError("--torch-max-hidden-channels", cap, f"must be at least --fno-width ({args.fno_width})")
    return [GeneratorPlan(architecture, args.fno_blocks, args.fno_width, args.fno_modes, cap, args.N)
            for architecture in args.architectures]


def train_config(args: argparse.Namespace, profile: Profile, seed: int) -> TrainConfig:
    """The TrainConfig the training flags mean (the profile fills epochs and collapse patience)."""
    if args.torch_epochs is not None and args.nepochs is not None and args.torch_epochs != args.nepochs:
        raise UsageError("--nepochs", args.nepochs, f"is an alias of --torch-epochs, which says {args.torch_epochs}")
    epochs = args.torch_epochs if args.torch_epochs is not None else args.nepochs
    if epochs is None:
        epochs = profile.epochs
    train = TrainConfig(
        seed=seed, epochs=epochs, batch_size=args.torch_batch_size, optimizer=args.torch_optimizer,
        learning_rate=args.torch_learning_rate, weight_decay=args.torch_weight_decay, betas=tuple(args.torch_betas),
        grad_clip=args.torch_grad_clip, grad_clip_algorithm=args.torch_grad_clip_algorithm,
        loss_mode=args.torch_loss_mode, scheduler=args.torch_scheduler, warmup_epochs=args.torch_lr_warmup_epochs,
        min_lr_ratio=args.torch_lr_min_ratio, log_grad_norm=args.torch_log_grad_norm,
        grad_norm_log_freq=args.torch_grad_norm_log_freq, infer_batch_size=args.torch_infer_batch_size,
        bf16_autocast=args.bf16, channels_last=not args.no_channels_last,
        collapse_patience=profile.collapse_patience if args.collapse_patience is None else args.collapse_patience,
    )
    for flag, value, reason in train.problems():
        raise UsageError(flag, value, reason)
    if train.scheduler == "WarmupCosine" and train.warmup_epochs >= train.epochs > 0:
        print(f"harness: warning: --torch-lr-warmup-epochs {train.warmup_epochs} is not shorter than the "
              f"{train.epochs} training epochs: the rate never leaves its warm-up", file=sys.stderr)
    return train


def run_configs(args: argparse.Namespace) -> list:
    """One RunConfig per architecture and seed, every value checked; raises UsageError naming the flag."""
    from .data.simulation import resolve_probe
    from .run.config import RunConfig

    check_numbers(args)
    profile = load_profile(args.profile)
    plans = model_plans(args, profile)
    params = dataset_params(args, profile)
    params.validate()
    resolve_probe(params)  # a bad probe file is bad input, refused before any folder is made
    seeds = run_seeds(args)
    train = train_config(args, profile, seeds[0])
    device = check_device(args.device)
    warn_emulated_bf16(args.bf16, device)
    return [RunConfig(model=plan, data=objects_of(params, seed) if args.objects_per_seed else params,
                      train=dataclasses.replace(train, seed=seed), profile=profile.name, device=device,
                      study=args.study, arm=args.arm, threads=args.threads)
            for plan in plans for seed in seeds]


def objects_of(params, seed: int):
    """The dataset of a run that draws its own objects and noise: training and test seeds derived from the run's
    seed (distinct streams; the same seed always draws the same, so its dataset is cached and shared)."""
    import numpy as np

    train_seed, test_seed = (int(value) for value in np.random.SeedSequence(seed).generate_state(2))
    return dataclasses.replace(params, train_seed=train_seed, test_seed=test_seed)


def run_seeds(args: argparse.Namespace) -> list[int]:
    """--seed S1 S2 … as given, or --n-seeds K counted up from one --seed."""
    if args.n_seeds is None:
        if len(set(args.seed)) != len(args.seed):
            raise UsageError("--seed", " ".join(map(str, args.seed)), "a seed is given twice")
        return list(args.seed)
    if len(args.seed) != 1:
        raise UsageError("--n-seeds", args.n_seeds, "counts up from one --seed; give one, or list the seeds instead")
    return [args.seed[0] + offset for offset in range(args.n_seeds)]


def check_device(device: str) -> str:
    import torch

    from .environment import resolve_device

    resolved = resolve_device(device)
    if resolved != "cpu" and not resolved.startswith("cuda"):
        raise UsageError("--device", device, "must be auto, cpu, cuda or cuda:N")
    if resolved.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError("--device", device, "no CUDA device is available on this machine")
    return resolved


def warn_emulated_bf16(bf16: bool, device: str) -> None:
    """--bf16 on a CPU without bfloat16 instructions is emulated: measured 10× slower per step on one machine."""
    from .environment import native_bf16_cpu

    if bf16 and device == "cpu" and native_bf16_cpu() is None:
        print("harness: warning: --bf16 on a CPU without native bfloat16 instructions (no avx512_bf16, amx_bf16 "
              "or bf16 flag): it is emulated there and can make a step many times slower; leave --bf16 off",
              file=sys.stderr)


def checkpoint_policy(args: argparse.Namespace):
    """The checkpoint flags (checked with the others by run_configs)."""
    from .train.checkpoint import CheckpointPolicy

    return CheckpointPolicy(enabled=not args.no_checkpoints, interval_s=args.checkpoint_interval,
                            keep=args.keep_checkpoint)


# --- settings written as data (the study fixtures) -------------------------------------------------------


def settings_to_argv(settings: dict, parser: argparse.ArgumentParser | None = None) -> list[str]:
    """{'torch-grad-clip': 1.0, 'set-phi': true, 'architectures': 'hybrid'} → command-line words; with the
    parser, a switch whose value is not true or false is refused (UsageError naming it)."""
    switches = set() if parser is None else {
        option for action in parser._actions if isinstance(action, argparse._StoreTrueAction)
        for option in action.option_strings}
    argv = []
    for name, value in settings.items():
        flag = f"--{name}"
        if flag in switches and not isinstance(value, bool):
            raise UsageError(flag, repr(value), "is a switch: true or false")
        if value is True:
            argv.append(flag)
        elif value is False or value is None:
            continue
        elif isinstance(value, (list, tuple)):
            argv += [flag, *map(str, value)]
        else:
            argv += [flag, str(value)]
    return argv


def run_parser() -> argparse.ArgumentParser:
    """The run flags as a parser whose errors raise ArgumentError (settings written as data have no
    command line to print a usage for)."""
    parser = argparse.ArgumentParser(prog="study", add_help=False, allow_abbrev=False, exit_on_error=False)
    add_run_flags(parser)
    return parser


def configs_from_settings(settings: dict) -> list:
    """RunConfigs from settings written with the flag names (a study's protocol and arm tables); every
    error a UsageError naming the flag."""
    parser = run_parser()
    try:
        arguments, unknown = parser.parse_known_args(settings_to_argv(settings, parser))
    except argparse.ArgumentError as exc:
        raise UsageError(exc.argument_name or "settings", "", exc.message) from None
    if unknown:
        raise UsageError(unknown[0], " ".join(unknown[1:]) or "(set)", "not a `harness run` setting")
    return run_configs(arguments)
