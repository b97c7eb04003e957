"""Run profiles (`paper`, `quick`, `auto`) read from fixtures/profiles.toml."""

from __future__ import annotations

from dataclasses import MISSING, dataclass, fields

import torch

from .data.params import DatasetParams, patches_per_axis
from .errors import UsageError
from .fixtures import fixtures_dir, read_fixture
from .models.plan import GeneratorPlan
from .settings import NUMBERS, check_number


@dataclass(frozen=True)
class Profile:
    name: str
    object_size: int
    train_stride: int
    test_stride: int
    epochs: int
    collapse_patience: int
    n_lines: int = 400
    # The model and patch scale (None: the flags' defaults). A profile may shrink the problem to what its machine
    # can train to a verdict; the question stays: architecture, physics, loss, each arm's recipe and the depths.
    patch_size: int | None = None
    width: int | None = None
    max_hidden_channels: int | None = None

    @property
    def scale(self) -> str:
        """The scale in one phrase, for the reports: what this profile trains (the flags' defaults where it
        sets none)."""
        n = self.patch_size or DatasetParams().N
        width = self.width or GeneratorPlan("hybrid", 1).width
        patches = patches_per_axis(self.object_size, n, self.train_stride) ** 2
        return (f"N={n}, width {width}, cap {self.max_hidden_channels or 'none'}, {patches} training patches of a "
                f"{self.object_size} px object, {self.epochs} epochs")


# A profile's scale keys and the run flag whose range they share.
SCALE_FLAGS = {"patch_size": "--N", "width": "--fno-width", "max_hidden_channels": "--torch-max-hidden-channels"}


def gpu_available() -> bool:
    return torch.cuda.is_available()


def load_profile(name: str, flag: str = "--profile") -> Profile:
    """Resolve a profile name from fixtures/profiles.toml; `auto` is paper on a GPU, else quick. A file that
    cannot be read, or a profile with a missing, unknown or ill-typed key, is a UsageError naming both."""
    path = fixtures_dir() / "profiles.toml"
    profiles = read_fixture(path)
    if "auto" in profiles:
        raise UsageError(f"{path} [auto]", "", "auto is not a profile of its own (it picks paper on a GPU, else "
                                               "quick): rename the table")
    if name == "auto":
        name = "paper" if gpu_available() else "quick"
    if name not in profiles:
        raise UsageError(flag, name, f"unknown profile (choose from auto, {', '.join(profiles)})")
    table = profiles[name]
    keys = {f.name for f in fields(Profile)} - {"name"}
    required = {f.name for f in fields(Profile) if f.default is MISSING} - {"name"}
    for key in sorted(set(table) - keys):
        raise UsageError(f"{path} [{name}] {key}", repr(table[key]), f"is not a profile setting ({', '.join(sorted(keys))})")
    for key in sorted(required - set(table)):
        raise UsageError(f"{path} [{name}] {key}", "", "is missing")
    for key, value in table.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise UsageError(f"{path} [{name}] {key}", repr(value), "must be a whole number ≥ 0")
    for key, flag in SCALE_FLAGS.items():
        if key in table:
            try:
                check_number(flag, table[key], *NUMBERS[flag])
            except UsageError as exc:
                raise UsageError(f"{path} [{name}] {key}", exc.value, exc.reason) from None
    return Profile(name=name, **table)
