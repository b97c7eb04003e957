"""Settings → RunConfig: the checked settings of a run (the command line's, or a study's tables read by
harness.settings) turned into one RunConfig per architecture and seed, with the checks that need the
machinery: known architectures and names, a readable probe file, a usable device."""

from __future__ import annotations

import argparse
import dataclasses
import sys

import numpy as np
import torch

from ..data.measured import check_measured, patch_size
from ..data.params import DatasetParams
from ..data.simulation import resolve_probe
from ..environment import native_bf16_cpu, resolve_device
from ..errors import UsageError
from ..models.plan import GeneratorPlan, max_feasible_depth
from ..models.registry import UnknownArchitecture, architecture, check_extra
from ..physics.probe_presets import DISK
from ..profiles import Profile, load_profile
from ..settings import DATA, MAX_DEPTH, MODEL, check_name, check_numbers, settings_from_data
from ..train.checkpoint import CheckpointPolicy
from ..train.clipping import CLIP_ALGORITHMS
from ..train.config import TrainConfig
from ..train.losses import LOSS_MODES
from ..train.optimizers import OPTIMIZERS
from ..train.schedulers import SCHEDULERS
from .config import RunConfig


def scaled(args: argparse.Namespace, profile: Profile | None) -> argparse.Namespace:
    """The flags with the model and patch scale filled in where none was given: the profile's, else the
    records' defaults (see Profile.scale). A flag given on the command line or in a study table wins."""
    measured = getattr(args, "data_npz", None)
    values = {"N": (patch_size(DatasetParams(data_npz=measured, test_data_npz=args.test_data_npz)) if measured else
                    (profile and profile.patch_size) or DATA.N),
              "fno_width": (profile and profile.width) or MODEL.width,
              "torch_max_hidden_channels": (profile and profile.max_hidden_channels) or MODEL.max_hidden_channels}
    filled = argparse.Namespace(**vars(args))
    for name, value in values.items():
        if getattr(filled, name, None) is None:
            setattr(filled, name, value)
    return filled


def dataset_params(args: argparse.Namespace, profile: Profile) -> DatasetParams:
    if args.data_npz is not None:
        return measured_params(args)
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
        test_data_npz=args.test_data_npz,   # without --data-npz: refused by validate, never ignored
    )


def measured_params(args: argparse.Namespace) -> DatasetParams:
    """The data of a measured file (UsageError naming a flag that names another probe or another patch size)."""
    given = {"--probe-npz": args.probe_npz, "--probe-source": args.probe_source,
             "--probe-defocus": args.probe_defocus or None, "--objects-per-seed": args.objects_per_seed or None}
    for flag, value in given.items():
        if value is not None:
            raise UsageError(flag, value, "does not apply to --data-npz: the file holds the data and its probe")
    params = DatasetParams(data_npz=args.data_npz, test_data_npz=args.test_data_npz, test_fraction=args.test_fraction)
    params = dataclasses.replace(params, N=patch_size(params) if args.N is None else args.N)
    check_measured(params)
    return params


def probe_source(args: argparse.Namespace) -> str:
    """The preset asked for; without one, the disk where a probe file or a disk defocus is given (they
    replace or change the disk), else the default preset."""
    if args.probe_source is not None:
        return args.probe_source
    if args.probe_npz is not None or args.probe_defocus:
        return DISK
    return DATA.probe_source


def model_plans(args: argparse.Namespace, profile: Profile | None = None):
    """One GeneratorPlan per --architectures entry (UsageError naming the flag; the numbers' ranges are
    check_numbers'), at the profile's scale where the flags give none. A depth too deep for N (up to
    MAX_DEPTH) is not bad input: such a run is recorded `infeasible`."""
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
    for flag, value, known in (("--torch-optimizer", train.optimizer, OPTIMIZERS),
                               ("--torch-grad-clip-algorithm", train.grad_clip_algorithm, CLIP_ALGORITHMS),
                               ("--torch-loss-mode", train.loss_mode, LOSS_MODES),
                               ("--torch-scheduler", train.scheduler, SCHEDULERS)):
        if value not in known:
            raise UsageError(flag, value, f"unknown (known: {', '.join(known)})")
    if train.scheduler == "WarmupCosine" and train.warmup_epochs >= train.epochs > 0:
        print(f"harness: warning: --torch-lr-warmup-epochs {train.warmup_epochs} is not shorter than the "
              f"{train.epochs} training epochs: the rate never leaves its warm-up", file=sys.stderr)
    return train


def run_configs(args: argparse.Namespace) -> list:
    """One RunConfig per architecture and seed, every value checked; raises UsageError naming the flag."""
    check_numbers(args)
    check_name("--study", args.study)
    if args.arm is not None:
        check_name("--arm", args.arm)
    profile = load_profile(args.profile)
    plans = model_plans(args, profile)
    params = dataset_params(args, profile)
    params.validate()
    if not params.measured:
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
    """The device the flag names, resolved (UsageError naming --device unless it is usable here)."""
    resolved = resolve_device(device)
    if resolved != "cpu" and not resolved.startswith("cuda"):
        raise UsageError("--device", device, "must be auto, cpu, cuda or cuda:N")
    if resolved.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError("--device", device, "no CUDA device is available on this machine")
    return resolved


def warn_emulated_bf16(bf16: bool, device: str) -> None:
    """--bf16 on a CPU without bfloat16 instructions is emulated: measured 10× slower per step on one machine."""
    if bf16 and device == "cpu" and native_bf16_cpu() is None:
        print("harness: warning: --bf16 on a CPU without native bfloat16 instructions (no avx512_bf16, amx_bf16 "
              "or bf16 flag): it is emulated there and can make a step many times slower; leave --bf16 off",
              file=sys.stderr)


def checkpoint_policy(args: argparse.Namespace):
    """The checkpoint flags (checked with the others by run_configs)."""
    return CheckpointPolicy(enabled=not args.no_checkpoints, interval_s=args.checkpoint_interval,
                            keep=args.keep_checkpoint)


def configs_from_settings(settings: dict) -> list[RunConfig]:
    """RunConfigs from settings written with the flag names (a study's protocol and arm tables); every
    error a UsageError naming the flag."""
    return run_configs(settings_from_data(settings))
