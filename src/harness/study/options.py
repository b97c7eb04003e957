"""The study options a pytest session is given (`--depths`, `--arms`, `--runs-dir`, …), every value checked
before any test runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UsageError
from ..physics.probe_presets import preset
from ..profiles import load_profile
from ..run.configure import check_device
from ..run.tracking import check_tracker
from ..settings import MAX_DEPTH, NUMBERS, STUDY_PROFILE, check_folder, check_number, int_list, name_list
from .design import DESIGN_OPTIONS, make_design
from .gate import GATES


@dataclass
class StudyOptions:
    profile: str = STUDY_PROFILE
    depths: list[int] | None = None
    seeds: list[int] | None = None
    n_seeds: int | None = None
    arms: list[str] | None = None
    crash_depth: int | None = None
    epochs: int | None = None
    runs_dir: Path = Path("runs")
    reports_dir: Path = Path("reports")
    rerun: bool = False
    logger: str = "csv"                          # the experiment tracker of each trained run (run/tracking.py)
    device: str = "auto"
    cache_dir: Path | None = None
    count_unfinished_as_crash: bool = False
    threads_per_run: int = 1
    group_size: int | None = None
    hunt_arm: str | None = None
    probes: list[str] | None = None              # --probe-source disk,fzp: every arm once per probe preset
    data_npz: str | None = None                  # --data-npz: every run on a measured file (its test split beside)
    test_data_npz: str | None = None
    fail_on: list[str] = field(default_factory=list)   # --fail-on crashy,worse: decisions that fail the session
    design: dict = field(default_factory=dict)   # the design options given (see study/design.py)

    @classmethod
    def from_pytest(cls, config) -> "StudyOptions":
        """The options, every value checked (UsageError naming the pytest option): before any test runs."""
        option = config.getoption
        load_profile(option("--profile"), flag="--profile")
        numbers = {"--n-seeds": NUMBERS["--n-seeds"][:2], "--crash-depth": (1, MAX_DEPTH),
                   "--epochs": NUMBERS["--torch-epochs"][:2],
                   "--threads-per-run": NUMBERS["--threads"][:2], "--group-size": NUMBERS["--group-size"][:2]}
        for name, (low, high) in numbers.items():
            if option(name) is not None:
                check_number(name, option(name), low, high, int)
        if option("--device") != "auto":
            check_device(option("--device"))
        design = {name: option(name) for name in DESIGN_OPTIONS}
        make_design({}, design, "")  # every design option checked now, the fixture's keys with the session
        return cls(
            profile=option("--profile"),
            depths=int_list(option("--depths"), "--depths", 1, MAX_DEPTH),
            seeds=int_list(option("--seeds"), "--seeds", *NUMBERS["--seed"][:2]),
            n_seeds=option("--n-seeds"),
            arms=name_list(option("--arms"), "--arms"),
            crash_depth=option("--crash-depth"),
            epochs=option("--epochs"),
            runs_dir=check_folder("--runs-dir", option("--runs-dir")),
            reports_dir=check_folder("--reports-dir", option("--reports-dir")),
            rerun=option("--rerun"),
            logger=check_tracker(option("--logger")),
            device=option("--device"),
            cache_dir=check_folder("--cache-dir", option("--cache-dir")) if option("--cache-dir") is not None else None,
            count_unfinished_as_crash=option("--count-unfinished-as-crash"),
            threads_per_run=option("--threads-per-run"),
            group_size=option("--group-size"),
            hunt_arm=option("--hunt-arm"),
            probes=_probes(option("--probe-source")),
            data_npz=option("--data-npz"),
            test_data_npz=option("--test-data-npz"),
            fail_on=_gates(option("--fail-on")),
            design=design,
        )

    @property
    def folders(self) -> list[tuple[Path, str]]:
        """The folders the session writes, each with its option."""
        return [(folder, option) for option, folder in (("--runs-dir", self.runs_dir), ("--reports-dir", self.reports_dir),
                                                        ("--cache-dir", self.cache_dir)) if folder is not None]


def _probes(text: str | None) -> list[str] | None:
    """'disk,fzp' → ["disk", "fzp"], each a known preset (UsageError naming --probe-source)."""
    names = name_list(text, "--probe-source", "the arms' own probe")
    seen: dict[str, str] = {}
    for name in names or []:
        parameters = repr(preset(name))
        if parameters in seen:
            raise UsageError("--probe-source", text, f"{seen[parameters]} and {name} are the same probe: name it once")
        seen[parameters] = name
    return names


def _gates(text: str | None) -> list[str]:
    """'crashy,worse' → ["crashy", "worse"], each a known gate (UsageError naming --fail-on)."""
    names = name_list(text, "--fail-on", "no gate") or []
    for name in names:
        if name not in GATES:
            raise UsageError("--fail-on", name, f"unknown gate (choose from {', '.join(GATES)})")
    return names
