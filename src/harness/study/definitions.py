"""The studies as data: fixtures/studies.toml → one RunConfig per depth×seed or arm×seed."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UsageError
from ..fixtures import fixtures_dir, read_fixture
from ..run.configure import configs_from_settings
from ..settings import check_name

CRASH_HUNT, SHOOTOUT = "crash_hunt", "shootout"
STUDIES = (CRASH_HUNT, SHOOTOUT)
CONTROL_ARM = "control"   # the shootout's reference: every other arm is compared with it
VARIANT = "@"   # `control@fzp`: the arm `control` with the probe preset `fzp` (the probe as a study factor)


# The settings a study sets itself, from its own options: in a [protocol] or [arms.*] table they would be ignored,
# so they are refused there, saying which option sets them.
SET_BY_THE_STUDY = {
    "fno-blocks": "the crash hunt's depths (--depths) or the shootout's depth",
    "seed": "--seeds / --n-seeds", "n-seeds": "--seeds / --n-seeds", "profile": "--profile",
    "cache-dir": "--cache-dir", "output-dir": "--runs-dir", "runs-dir": "--runs-dir", "study": "the study",
    "arm": "the name of the arm's table", "device": "--device", "threads": "--threads-per-run",
    "group-size": "--group-size", "rerun": "--rerun", "checkpoint-interval": "the study (default checkpoints)",
    "no-checkpoints": "the study (default checkpoints)", "keep-checkpoint": "the study (default checkpoints)",
}


def _check_settings_table(values: dict, where: str) -> None:
    """A [protocol] or [arms.*] table: no key the study sets itself, one architecture."""
    for key, value in values.items():
        if key in SET_BY_THE_STUDY:
            raise UsageError(f"{where} {key}", repr(value), f"is set by {SET_BY_THE_STUDY[key]}, not by a study table: "
                                                           "remove it")
    architectures = values.get("architectures")
    if isinstance(architectures, list) and len(architectures) != 1:
        raise UsageError(f"{where} architectures", repr(architectures), "an arm trains one architecture: give one "
                                                                        "(an arm per architecture)")


def variant(arm: str, probe: str | None) -> str:
    return arm if probe is None else f"{arm}{VARIANT}{probe}"


def split_variant(name: str) -> tuple[str, str | None]:
    """`control@fzp` → ("control", "fzp"); `control` → ("control", None)."""
    arm, _, probe = name.partition(VARIANT)
    return arm, probe or None


@dataclass(frozen=True)
class Studies:
    protocol: dict
    crash_hunt: dict
    shootout: dict
    arms: dict[str, dict]
    source: Path
    design_table: dict = field(default_factory=dict)   # [design]: how the studies decide
    arm_sets: dict[str, list[str]] = field(default_factory=dict)  # [arm_sets]: named lists of arms for --arms

    def table(self, study: str) -> dict:
        return {CRASH_HUNT: self.crash_hunt, SHOOTOUT: self.shootout}[study]

    @property
    def crash_hunt_arm(self) -> str:
        return self.crash_hunt["arm"]

    def seeds_from_base(self, study: str, count: int) -> list[int]:
        base = self.table(study)["seed_base"]
        return [base + offset for offset in range(count)]

    def planned_seeds(self, study: str, design, seeds: list[int] | None = None, n_seeds: int | None = None) -> list[int]:
        """The seeds a study plans: the given ones, K from seed_base, else the fixture's list (fixed design) or
        the budget counted from seed_base (sequential: ascending, the order its decisions read them)."""
        if design.sequential:
            for option, count in (("--seeds", len(seeds or ())), ("--n-seeds", n_seeds or 0)):
                if count > design.max_seeds:
                    raise UsageError(option, ",".join(map(str, seeds)) if option == "--seeds" and seeds else count,
                                     f"{count} seeds, more than the sequential design's budget (--max-seeds "
                                     f"{design.max_seeds}): raise --max-seeds, or give fewer")
        if seeds:
            chosen = list(seeds)
        elif n_seeds:
            chosen = self.seeds_from_base(study, n_seeds)
        elif design.sequential:
            chosen = self.seeds_from_base(study, design.max_seeds)
        else:
            chosen = list(self.table(study)["seeds"])
        return sorted(chosen)[:design.max_seeds] if design.sequential else chosen


def _seeds(value, where: str) -> list[int]:
    if not isinstance(value, list) or not value or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0
                                                           for v in value):
        raise UsageError(where, repr(value), "must be a non-empty list of whole numbers ≥ 0")
    if len(set(value)) != len(value):
        raise UsageError(where, repr(value), "a seed is listed twice")
    return value


def load_studies(path: str | Path | None = None) -> Studies:
    """fixtures/studies.toml, checked: every table and key it needs, of the type it needs (UsageError
    naming the file and the key)."""
    path = Path(path) if path else fixtures_dir() / "studies.toml"
    table = read_fixture(path)
    for name in (CRASH_HUNT, SHOOTOUT):
        if not isinstance(table.get(name), dict):
            raise UsageError(f"{path} [{name}]", "", "is missing: the study needs its table")
    for name in ("protocol", "arms", "design", "arm_sets"):
        if not isinstance(table.get(name, {}), dict):
            raise UsageError(f"{path} [{name}]", "", "must be a table")
    hunt, shoot, arms = table[CRASH_HUNT], table[SHOOTOUT], table.get("arms", {})
    if not isinstance(hunt.get("arm"), str):
        raise UsageError(f"{path} [{CRASH_HUNT}] arm", repr(hunt.get("arm")), "must name one arm")
    depths = hunt.get("depths")
    if not isinstance(depths, list) or not depths or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 1
                                                             for d in depths):
        raise UsageError(f"{path} [{CRASH_HUNT}] depths", repr(depths), "must be a non-empty list of depths ≥ 1")
    if not isinstance(shoot.get("arms"), list) or not shoot["arms"] or not all(isinstance(a, str) for a in shoot["arms"]):
        raise UsageError(f"{path} [{SHOOTOUT}] arms", repr(shoot.get("arms")), "must be a non-empty list of arm names")
    for name, study in ((CRASH_HUNT, hunt), (SHOOTOUT, shoot)):
        _seeds(study.get("seeds"), f"{path} [{name}] seeds")
        base = study.get("seed_base")
        if not isinstance(base, int) or isinstance(base, bool) or base < 0:
            raise UsageError(f"{path} [{name}] seed_base", repr(base), "must be a whole number ≥ 0")
    arm_sets = table.get("arm_sets", {})
    for name, listed in arm_sets.items():
        if not isinstance(listed, list) or not listed or not all(isinstance(a, str) for a in listed):
            raise UsageError(f"{path} [arm_sets] {name}", repr(listed), "must be a non-empty list of arm names")
        if name in arms:
            raise UsageError(f"{path} [arm_sets] {name}", repr(listed), f"is also an arm ([arms.{name}]): --arms {name} "
                                                                         "would be ambiguous; rename the set")
    _check_settings_table(table.get("protocol", {}), f"{path} [protocol]")
    for name, values in arms.items():
        check_name(f"{path} [arms.{name}]", name)
        if isinstance(values, dict):
            _check_settings_table(values, f"{path} [arms.{name}]")
    for arm in [hunt["arm"], *shoot["arms"], *[a for listed in arm_sets.values() for a in listed]]:
        if not isinstance(arms.get(arm), dict):
            raise UsageError(f"{path} arms", arm, f"is listed but has no [arms.{arm}] table")
    return Studies(protocol=table.get("protocol", {}), crash_hunt=hunt, shootout=shoot, arms=arms, source=path,
                   design_table=table.get("design", {}), arm_sets=arm_sets)


def run_config_for(studies: Studies, *, study: str, arm: str, depth: int, seed: int, profile: str,
                   epochs: int | None = None, device: str = "auto", threads: int | None = None,
                   data_files: dict[str, str] | None = None):
    """The RunConfig of one study test, checked exactly as `harness run` checks its flags. An arm variant
    `ARM@PROBE` is the arm with its probe set to the preset PROBE; data_files (`data-npz`, `test-data-npz`) put
    every arm on a measured dataset."""
    name, (arm, probe) = arm, split_variant(arm)
    if arm not in studies.arms:
        raise UsageError("--arms", arm, f"unknown arm (known: {', '.join(studies.arms)})")
    settings = {**studies.protocol, **studies.arms[arm], "fno-blocks": depth, "seed": seed, "profile": profile,
                "device": device, "study": study, "arm": name}
    if probe is not None:
        settings["probe-source"] = probe
    settings.update(data_files or {})
    if epochs is not None:
        settings["torch-epochs"] = epochs
    if threads is not None:
        settings["threads"] = threads
    try:
        return configs_from_settings(settings)[0]
    except UsageError as exc:  # a value from the fixture: name the file, the table and the key
        key = exc.flag.removeprefix("--")
        table = f"[arms.{arm}]" if key in studies.arms[arm] else "[protocol]" if key in studies.protocol else None
        if table is None:
            raise
        raise UsageError(f"{studies.source} {table} {key}", exc.value, exc.reason) from None
