"""Run profiles (`paper`, `quick`, `auto`) read from fixtures/profiles.toml."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .errors import UsageError

FIXTURES_ENV = "HARNESS_FIXTURES"


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
    n_lines: int = 400


def gpu_available() -> bool:
    import torch

    return torch.cuda.is_available()


def load_profile(name: str, flag: str = "--profile") -> Profile:
    """Resolve a profile name from fixtures/profiles.toml; `auto` is paper on a GPU, else quick."""
    with open(fixtures_dir() / "profiles.toml", "rb") as stream:
        profiles = tomllib.load(stream)
    if name == "auto":
        name = "paper" if gpu_available() else "quick"
    if name not in profiles:
        raise UsageError(flag, name, f"unknown profile (choose from auto, {', '.join(profiles)})")
    return Profile(name=name, **profiles[name])
