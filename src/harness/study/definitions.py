"""The studies as data: fixtures/studies.toml → one RunConfig per depth×seed or arm×seed."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from ..profiles import fixtures_dir
from ..settings import configs_from_settings

CRASH_HUNT, SHOOTOUT = "crash_hunt", "shootout"
STUDIES = (CRASH_HUNT, SHOOTOUT)


@dataclass(frozen=True)
class Studies:
    protocol: dict
    crash_hunt: dict
    shootout: dict
    arms: dict[str, dict]
    source: Path

    def table(self, study: str) -> dict:
        return {CRASH_HUNT: self.crash_hunt, SHOOTOUT: self.shootout}[study]

    @property
    def crash_hunt_arm(self) -> str:
        return self.crash_hunt["arm"]

    def seeds_from_base(self, study: str, count: int) -> list[int]:
        base = self.table(study)["seed_base"]
        return [base + offset for offset in range(count)]


def load_studies(path: str | Path | None = None) -> Studies:
    path = Path(path) if path else fixtures_dir() / "studies.toml"
    with open(path, "rb") as stream:
        table = tomllib.load(stream)
    studies = Studies(protocol=table.get("protocol", {}), crash_hunt=table[CRASH_HUNT], shootout=table[SHOOTOUT],
                      arms=table.get("arms", {}), source=path)
    for arm in [studies.crash_hunt_arm, *studies.shootout["arms"]]:
        if arm not in studies.arms:
            raise UsageError("arms", arm, f"is listed in {path} but has no [arms.{arm}] table")
    return studies


def run_config_for(studies: Studies, *, study: str, arm: str, depth: int, seed: int, profile: str,
                   epochs: int | None = None, device: str = "auto", threads: int | None = None):
    """The RunConfig of one study test, checked exactly as `harness run` checks its flags."""
    if arm not in studies.arms:
        raise UsageError("--arms", arm, f"unknown arm (known: {', '.join(studies.arms)})")
    settings = {**studies.protocol, **studies.arms[arm], "fno-blocks": depth, "seed": seed, "profile": profile,
                "device": device, "study": study, "arm": arm}
    if epochs is not None:
        settings["torch-epochs"] = epochs
    if threads is not None:
        settings["threads"] = threads
    return configs_from_settings(settings, studies.source)[0]
