"""The settings of a run, as one table: each setting's flag (a fixture key is the flag without --), its type,
range, default and help, declared once. From the table come the command line's flags, the reading of settings
written as data (a study's protocol and arm tables) and every number's check, so that a fixture value means
exactly what the same flag means on the command line. run/configure.py turns checked settings into RunConfigs.

Only configuration types are imported here: reading settings loads no training, simulation or Lightning.
"""

from __future__ import annotations

import argparse
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .data.params import DatasetParams
from .errors import UsageError
from .models.plan import GeneratorPlan
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
GROUPS = {"data": "data", "model": "model", "training": "training", "where": "where and how"}


@dataclass(frozen=True)
class Setting:
    """One setting. Numbers carry the range they accept (both ends inclusive; floats must also be finite): the
    bounds past the physics are there so that a typing error (1e300 photons, 10^21 as a seed, 100000 threads)
    is refused with its flag, not met inside a library."""

    flag: str
    group: str                          # a key of GROUPS: the parser's group, and the commands that take it
    kind: type = str                    # int, float or str; bool: a switch; Path: a folder
    default: Any = None
    help: str | None = None
    low: float | None = None
    high: float | None = None
    nargs: int | str | None = None      # "+": one or more values; 2: a pair
    metavar: str | tuple[str, ...] | None = None

    @property
    def key(self) -> str:
        """Its name in a fixture table."""
        return self.flag.removeprefix("--")

    @property
    def dest(self) -> str:
        return self.key.replace("-", "_")

    def add_to(self, group) -> None:
        """Declare it on an argparse parser's group."""
        if self.kind is bool:
            group.add_argument(self.flag, action="store_true", help=self.help)
            return
        options: dict[str, Any] = {"default": self.default, "help": self.help}
        if self.kind in (int, float):
            options["type"] = self.kind
        for name in ("nargs", "metavar"):
            if getattr(self, name) is not None:
                options[name] = getattr(self, name)
        group.add_argument(self.flag, **options)

    def read(self, value: Any) -> Any:
        """A value written as data (TOML) as the parser would give it (UsageError naming the flag)."""
        if self.kind is bool:
            if not isinstance(value, bool):
                raise UsageError(self.flag, repr(value), "is a switch: true or false")
            return value
        if self.nargs is None:
            return self._item(value)
        values = list(value) if isinstance(value, (list, tuple)) else [value]
        if isinstance(self.nargs, int) and len(values) != self.nargs:
            raise UsageError(self.flag, repr(value), f"takes {self.nargs} values")
        return [self._item(item) for item in values]

    def _item(self, value: Any) -> Any:
        if self.kind not in (int, float):
            return str(value)
        if isinstance(value, str):   # as on the command line
            try:
                return self.kind(value)
            except ValueError:
                raise UsageError(self.flag, repr(value), f"invalid {self.kind.__name__} value") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (self.kind is int and
                                                                               not isinstance(value, int)):
            raise UsageError(self.flag, repr(value), "must be " + ("a whole number" if self.kind is int else "a number"))
        return self.kind(value)   # its range is checked with the command line's, by check_numbers

    def check(self, value: Any) -> None:
        """The value in its range (numbers) or a usable folder (UsageError naming the flag)."""
        if value is None:
            return
        if self.kind is Path:
            check_folder(self.flag, value)
        elif self.low is not None and self.high is not None:
            for item in value if isinstance(value, (list, tuple)) else [value]:
                check_number(self.flag, item, self.low, self.high, self.kind)


SETTINGS = (
    # --- data
    Setting("--N", "data", int, None, f"patch size in pixels (default: the profile's, else {DATA.N})", 8, 2048),
    Setting("--gridsize", "data", int, DATA.gridsize, "patches per solution region side (only 1)", 1, 1),
    Setting("--set-phi", "data", bool, help="give the object a phase (else φ = 0)"),
    Setting("--nimgs-train", "data", int, DATA.nimgs_train, "training object canvases", 1, 64),
    Setting("--nimgs-test", "data", int, DATA.nimgs_test, "test object canvases", 1, 64),
    Setting("--nphotons", "data", float, DATA.nphotons, "mean photons per training patch", 1e-3, 1e15),
    Setting("--probe-npz", "data", str, None, "NPZ file with a complex N×N 'probeGuess'"),
    Setting("--probe-source", "data", str, None, metavar="PRESET",
            help=f"the probe: a preset of fixtures/probes.toml — fzp (a zone plate's, point-asymmetric), disk (alias "
                 f"ideal_disk: real and point-symmetric, so the twin image fits exactly), or one you add (default "
                 f"{DATA.probe_source}; disk when --probe-npz or --probe-defocus is given, which replace or defocus "
                 f"the disk)"),
    Setting("--probe-defocus", "data", float, DATA.probe_defocus, metavar="RADIANS", low=-1e3, high=1e3,
            help="defocus phase of the synthetic probe at its disk's edge (default 0: the real, point-symmetric disk "
                 "under which a patch and its twin image fit the same pattern)"),
    Setting("--data-npz", "data", str, None, metavar="FILE",
            help="train on a measured dataset file (PtychoPINN's NPZ: diff3d or diffraction, probeGuess, xcoords, "
                 "ycoords) instead of the simulation: its patterns, probe, positions and N; the verdict then needs no "
                 "ground truth (agreement across seeds)"),
    Setting("--test-data-npz", "data", str, None, metavar="FILE",
            help="the test split of --data-npz as a file of its own (default: a held-out scan region, --test-fraction)"),
    Setting("--test-fraction", "data", float, DATA.test_fraction, metavar="SHARE", low=0.01, high=0.9,
            help=f"share of --data-npz's positions held out for testing: the last in x (default {DATA.test_fraction})"),
    Setting("--cache-dir", "data", Path, None, "dataset cache folder (default $HARNESS_CACHE_DIR or fixtures/.cache)"),
    Setting("--profile", "data", str, RUN_PROFILE,
            f"{RUN_PROFILE} (default: the data and epochs the flags mean) | quick | smoke | auto (paper on a GPU, "
            "else quick)"),
    Setting("--train-stride", "data", int, None, "training scan stride in px (default: the profile's)", 1, 4096),
    Setting("--test-stride", "data", int, None, "test scan stride in px (default: the profile's)", 1, 4096),
    Setting("--object-size", "data", int, None, "object canvas in px (default: the profile's)", 8, 16384),
    # --- model
    Setting("--architectures", "model", str, [DEFAULT_ARCHITECTURE], "hybrid and/or stable_hybrid", nargs="+"),
    Setting("--fno-blocks", "model", int, DEFAULT_DEPTH, "depth: encoder levels of the U-Net"),
    Setting("--fno-width", "model", int, None, f"channels of the first level (default: the profile's, else "
            f"{MODEL.width})", 1, 4096),
    Setting("--fno-modes", "model", int, MODEL.modes, "Fourier modes per spectral layer", 1, 1024),
    Setting("--torch-max-hidden-channels", "model", int, None, "cap on hidden channels (default: the profile's, "
            "else none)", 1, 65536),
    # --- training
    Setting("--seed", "training", int, [DEFAULT_SEED], "drives init, data order and all randomness; several seeds "
            "train as one group", 0, 2**63 - 1, nargs="+"),
    Setting("--n-seeds", "training", int, None, "K seeds counted up from --seed, trained as one group "
            "(seed-batched)", 1, 10000, metavar="K"),
    Setting("--objects-per-seed", "training", bool,
            help="each seed also draws its own training and test objects and Poisson noise, so P_crash is a rate "
                 "over objects too (default: one object pair for every seed, the original protocol)"),
    Setting("--torch-epochs", "training", int, None, "training epochs (default: the profile's)", 0, 1_000_000),
    Setting("--nepochs", "training", int, None, "alias of --torch-epochs (the original wrapper's)", 0, 1_000_000),
    Setting("--torch-batch-size", "training", int, TRAIN.batch_size, None, 1, 1 << 20),
    Setting("--torch-infer-batch-size", "training", int, TRAIN.infer_batch_size,
            "batch size for validation and prediction", 1, 1 << 20),
    Setting("--torch-optimizer", "training", str, TRAIN.optimizer, "adam | adamw | sgd"),
    Setting("--torch-learning-rate", "training", float, TRAIN.learning_rate, None, 1e-12, 1e3),
    Setting("--torch-weight-decay", "training", float, TRAIN.weight_decay, None, 0.0, 1e3),
    Setting("--torch-betas", "training", float, TRAIN.betas, None, 0.0, 0.999999, nargs=2, metavar=("BETA1", "BETA2")),
    Setting("--torch-grad-clip", "training", float, TRAIN.grad_clip, "clip value; ≤ 0 means no clipping", -1e12, 1e12),
    Setting("--torch-grad-clip-algorithm", "training", str, TRAIN.grad_clip_algorithm, "norm | value | agc | "
            "agc-per-tensor"),
    Setting("--torch-loss-mode", "training", str, TRAIN.loss_mode, "mae | poisson"),
    Setting("--torch-scheduler", "training", str, TRAIN.scheduler, "Default | Exponential | WarmupCosine | "
            "ReduceLROnPlateau"),
    Setting("--torch-lr-warmup-epochs", "training", int, TRAIN.warmup_epochs, None, 0, 1_000_000),
    Setting("--torch-lr-min-ratio", "training", float, TRAIN.min_lr_ratio, None, 0.0, 1.0),
    Setting("--torch-log-grad-norm", "training", bool, help="keep global grad norms in the history"),
    Setting("--torch-grad-norm-log-freq", "training", int, TRAIN.grad_norm_log_freq, "log every k steps", 1, 1 << 30),
    Setting("--bf16", "training", bool, help="bfloat16 autocast for convolutions (FFTs stay float32); for GPUs"),
    Setting("--no-channels-last", "training", bool,
            help="keep NCHW convolutions (channels-last is the default: same math, faster on CPU)"),
    Setting("--collapse-patience", "training", int, None, "stop after K collapsed epochs in a row (default: the "
            "profile's; 0 = never)", 0, 1_000_000),
    # --- where and how
    Setting("--output-dir", "where", Path, None, "the run folder (a subfolder per architecture when several)"),
    Setting("--runs-dir", "where", Path, "runs", "root of runs/<study>/<arm>/depth<d>_seed<s>/ (default runs)"),
    Setting("--study", "where", str, "adhoc", "study name for the default folder layout"),
    Setting("--arm", "where", str, None, "arm name (default: the architecture)"),
    Setting("--device", "where", str, "auto", "auto | cpu | cuda | cuda:N"),
    Setting("--threads", "where", int, None, "torch threads (default: torch's)", 1, 4096),
    Setting("--group-size", "where", int, None, "seeds trained together as one stacked model (default: as GPU "
            "memory allows; 1 on a CPU)", 1, 10000, metavar="K"),
    Setting("--rerun", "where", bool, help="retrain even when a finished run (or a checkpoint) with this config exists"),
    Setting("--checkpoint-interval", "where", float, None, metavar="SECONDS", low=0.0, high=1e9,
            help="least training time between checkpoints, written at epoch ends (default: automatic, at least a "
                 "minute and 50 times a write's duration apart, at most 2%% of the training time; 0: every epoch)"),
    Setting("--no-checkpoints", "where", bool, help="write no checkpoints (an interrupted run starts over)"),
    Setting("--keep-checkpoint", "where", bool, help="keep the last checkpoint when the run finishes"),
    Setting("--logger", "where", str, "csv", "experiment tracker each finished run is logged to: none | csv (the run "
            "folder's logs/csv) | tensorboard | mlflow | wandb (the last three: pip install -e .[trackers])"),
)
BY_FLAG = {setting.flag: setting for setting in SETTINGS}
# Every numeric setting's (smallest, largest, kind): the studies' options reuse the ranges of the flags they mirror.
NUMBERS = {s.flag: (s.low, s.high, s.kind) for s in SETTINGS if s.low is not None and s.high is not None}


def add_flags(parser: argparse.ArgumentParser, groups=tuple(GROUPS)) -> None:
    """The settings of these groups as the parser's flags, each group under its title."""
    for group in groups:
        titled = parser.add_argument_group(GROUPS[group])
        for setting in SETTINGS:
            if setting.group == group:
                setting.add_to(titled)


def check_numbers(args: argparse.Namespace) -> None:
    """Every numeric setting present in `args` in its range and finite; every folder usable."""
    for setting in SETTINGS:
        setting.check(getattr(args, setting.dest, None))


def settings_from_data(values: dict) -> argparse.Namespace:
    """Settings written as data, keyed by flag without -- (a study's protocol and arm tables), as the parser
    gives them: the defaults, with every key a setting and every value of its type (UsageError naming it)."""
    namespace = argparse.Namespace(**{s.dest: False if s.kind is bool else s.default for s in SETTINGS})
    for key, value in values.items():
        if (setting := BY_FLAG.get(f"--{key}")) is None:
            raise UsageError(f"--{key}", value, "not a `harness run` setting")
        if value is not None:
            setattr(namespace, setting.dest, setting.read(value))
    return namespace


def check_number(flag: str, value, low, high, kind) -> None:
    """UsageError naming the flag unless value is a finite number within [low, high] (an integer for counts)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and not isinstance(value, int)):
        raise UsageError(flag, value, "must be " + ("a whole number" if kind is int else "a number"))
    if not math.isfinite(value):
        raise UsageError(flag, value, "must be a finite number")
    if not low <= value <= high:
        raise UsageError(flag, value, f"must be within [{low:g}, {high:g}]")


NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]*")


def check_name(flag: str, name: str) -> str:
    """A study's or an arm's name, which becomes a folder of the runs: a name, never a path (UsageError naming it)."""
    if not NAME_PATTERN.fullmatch(name):
        raise UsageError(flag, repr(name), "must be a name (letters, digits and . _ @ + -, not starting with . _ @ + "
                                           "-), not a path or empty: it names a folder under the runs folder")
    return name


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


