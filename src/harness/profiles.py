"""Run profiles (`paper`, `quick`, `auto`) read from fixtures/profiles.toml."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .errors import UsageError

FIXTURES_ENV = "HARNESS_FIXTURES"
PROFILE_NAMES = ("paper", "quick", "auto")


def fixtures_dir() -> Path:
    """$HARNESS_FIXTURES, else the checkout's fixtures/ folder."""
    if os.environ.get(FIXTURES_ENV):
        return Path(os.environ[FIXTURES_ENV])
    return Path(__file__).resolve().parents[2] / "fixtures"


@dataclass(frozen=True)
class Profile:
    name: str
    object_size: int
    train_stride: int
    test_stride: int
    epochs: int
    collapse_patience: int


def gpu_available() -> bool:
    import torch

    return torch.cuda.is_available()


def load_profile(name: str, flag: str = "--profile") -> Profile:
    """Resolve a profile name; `auto` is paper on a GPU, else quick."""
    if name not in PROFILE_NAMES:
        raise UsageError(flag, name, f"unknown profile (choose from {', '.join(PROFILE_NAMES)})")
    if name == "auto":
        name = "paper" if gpu_available() else "quick"
    with open(fixtures_dir() / "profiles.toml", "rb") as stream:
        table = tomllib.load(stream)[name]
    return Profile(name=name, **table)
