"""Where the fixture files are (fixtures/: profiles, studies, probes) and how one is read."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from .errors import UsageError

FIXTURES_ENV = "HARNESS_FIXTURES"


def fixtures_dir() -> Path:
    """$HARNESS_FIXTURES, else the checkout's fixtures/ folder."""
    if os.environ.get(FIXTURES_ENV):
        return Path(os.environ[FIXTURES_ENV])
    return Path(__file__).resolve().parents[2] / "fixtures"


def read_fixture(path: Path) -> dict:
    """A fixture file's tables; one that cannot be read or parsed is a UsageError naming it."""
    try:
        with open(path, "rb") as stream:
            return tomllib.load(stream)
    except OSError as exc:
        raise UsageError(str(path), "", f"cannot be read ({exc.strerror or exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(str(path), "", f"is not valid TOML ({exc})") from None
