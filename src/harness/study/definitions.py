"""The studies as data: fixtures/studies.toml → one RunConfig per depth×seed or arm×seed."""

from __future__ import annotations

import argparse
import tomllib
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from ..profiles import fixtures_dir

CRASH_HUNT, SHOOTOUT = "crash_hunt", "shootout"


@dataclass(frozen=True)
class Studies:
    protocol: dict
    crash_hunt: dict
    shootout: dict
    arms: dict[str, dict]
    source: Path

    def crash_hunt_seeds(self) -> list[int]:
        return list(self.crash_hunt["seeds"])

    def seeds_from_base(self, study: str, count: int) -> list[int]:
        base = (self.crash_hunt if study == CRASH_HUNT else self.shootout)["seed_base"]
        return [base + offset for offset in range(count)]


def load_studies(path: str | Path | None = None) -> Studies:
    path = Path(path) if path else fixtures_dir() / "studies.toml"
    with open(path, "rb") as stream:
        table = tomllib.load(stream)
    studies = Studies(protocol=table.get("protocol", {}), crash_hunt=table[CRASH_HUNT], shootout=table[SHOOTOUT],
                      arms=table.get("arms", {}), source=path)
    for arm in [studies.crash_hunt["arm"], *studies.shootout["arms"]]:
        if arm not in studies.arms:
            raise UsageError("arms", arm, f"is listed in {path} but has no [arms.{arm}] table")
    return studies


def _run_parser() -> argparse.ArgumentParser:
    from ..cli.run_args import add_run_flags

    parser = argparse.ArgumentParser(prog="study", add_help=False, allow_abbrev=False)
    add_run_flags(parser)
    return parser


def run_config_for(studies: Studies, *, study: str, arm: str, depth: int, seed: int, profile: str,
                   epochs: int | None = None, device: str = "auto", threads: int | None = None):
    """The RunConfig of one study test, checked exactly as `harness run` checks its flags."""
    from ..cli.run_args import run_configs, settings_to_argv

    if arm not in studies.arms:
        raise UsageError("--arms", arm, f"unknown arm (known: {', '.join(studies.arms)})")
    settings = {**studies.protocol, **studies.arms[arm], "fno-blocks": depth, "seed": seed, "profile": profile,
                "device": device, "study": study, "arm": arm}
    if epochs is not None:
        settings["torch-epochs"] = epochs
    if threads is not None:
        settings["threads"] = threads
    arguments, unknown = _run_parser().parse_known_args(settings_to_argv(settings))
    if unknown:
        raise UsageError(str(studies.source), " ".join(unknown), "not a `harness run` setting")
    return run_configs(arguments)[0]
