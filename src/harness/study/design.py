"""How the studies decide: the design (sequential or fixed), its error rates and its seed budget.

One record for the fixture's `[design]` table, the pytest options and `harness report`'s flags, which all
use the same names; every value checked (a bad one names its option or the fixture key).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..errors import UsageError
from ..settings import NUMBERS, check_number
from .group_sequential import LookPlan
from .sprt import Sprt
from .statistics import COMPARISON_TESTS

DESIGNS = ("sequential", "fixed")


@dataclass(frozen=True)
class Design:
    design: str = "sequential"
    max_seeds: int = 20        # the sequential budget per depth or arm
    batch: int = 5             # seeds added at a time: the shootout's looks, one group on a GPU
    p0: float = 0.05           # the crash hunt's SPRT: H0 P_crash ≤ p0 ("stable")
    p1: float = 0.30           # against H1 P_crash ≥ p1 ("crashy")
    alpha: float = 0.05        # false "crashy" (SPRT) and false difference (shootout, across the arms)
    beta: float = 0.20         # false "stable" (SPRT)
    futility: float = 0.10     # the shootout stops an arm when its conditional power falls below this
    test: str = "boschloo"     # the shootout's exact test: boschloo | fisher

    @property
    def sequential(self) -> bool:
        return self.design == "sequential"

    @property
    def looks(self) -> tuple[int, ...]:
        """Seeds per arm at each look: every batch, and the budget last."""
        looks = list(range(self.batch, self.max_seeds + 1, self.batch))
        return tuple(looks if looks and looks[-1] == self.max_seeds else [*looks, self.max_seeds])

    @property
    def sprt(self) -> Sprt:
        return Sprt(self.p0, self.p1, self.alpha, self.beta)

    def look_plan(self, seeds: int | None = None) -> LookPlan:
        """The shootout's looks; a fixed design has one, at its seeds, and no futility stop. A sequential design
        planned for fewer seeds than its budget (--n-seeds 12 under --max-seeds 20) looks last at those seeds, so
        it ends once they are all in (the spending is over the planned seeds, fixed before any run)."""
        if not self.sequential:
            if seeds is None:
                raise ValueError("a fixed design looks once, at its seeds: give their number")
            return LookPlan(looks=(seeds,), alpha=self.alpha, futility=0.0, test=COMPARISON_TESTS[self.test])
        looks = self.looks if seeds is None or seeds >= self.max_seeds else (
            *[look for look in self.looks if look < seeds], seeds)
        return LookPlan(looks=looks, alpha=self.alpha, futility=self.futility, test=COMPARISON_TESTS[self.test])

    def as_dict(self) -> dict:
        return {**asdict(self), "looks": list(self.looks) if self.sequential else None}


# option → (field, type, low, high, help); one table for pytest, `harness report` and the fixture's keys
DESIGN_OPTIONS = {
    "--design": ("design", str, None, None, "sequential (default: seeds until decided) | fixed (the fixture's seeds)"),
    "--max-seeds": ("max_seeds", int, 1, NUMBERS["--n-seeds"][1], "sequential budget of seeds per depth or arm (20)"),
    "--seed-batch": ("batch", int, 1, NUMBERS["--n-seeds"][1], "seeds added at a time; the shootout's looks (5)"),
    "--p0": ("p0", float, 1e-6, 1 - 1e-6, "SPRT: P_crash at or below which a depth is stable (0.05)"),
    "--p1": ("p1", float, 1e-6, 1 - 1e-6, "SPRT: P_crash at or above which a depth is crashy (0.30)"),
    "--alpha": ("alpha", float, 1e-6, 0.5, "false crashy (SPRT) and false difference (shootout) rate (0.05)"),
    "--beta": ("beta", float, 1e-6, 0.5, "false stable rate of the SPRT (0.20)"),
    "--futility": ("futility", float, 0.0, 1.0, "shootout: stop an arm below this conditional power (0.10)"),
    "--comparison-test": ("test", str, None, None, "shootout test: boschloo (default) | fisher"),
}
CHOICES = {"design": DESIGNS, "test": tuple(COMPARISON_TESTS)}


def add_design_options(add) -> None:
    """Register the design's options with an argparse parser's or a pytest group's add function."""
    for option, (_, kind, _, _, help_text) in DESIGN_OPTIONS.items():
        add(option, type=kind if kind is not str else None, default=None, help=help_text)


def make_design(table: dict, given: dict, where: str) -> Design:
    """The fixture's [design] table (keys named like the options, without --), then the options given (None:
    not given). UsageError names the option, or the fixture file and key."""
    by_key = {option.removeprefix("--"): option for option in DESIGN_OPTIONS}
    for key in table:
        if key not in by_key:
            raise UsageError(f"{where} {key}", repr(table[key]), f"unknown key (known: {', '.join(by_key)})")
    values, sources = {}, {}
    for key, option in by_key.items():
        name, kind, low, high, _ = DESIGN_OPTIONS[option]
        for source, value in ((f"{where} {key}", table.get(key)), (option, given.get(option))):
            if value is None:
                continue
            if name in CHOICES:
                if value not in CHOICES[name]:
                    raise UsageError(source, repr(value), f"must be one of {', '.join(CHOICES[name])}")
            else:
                check_number(source, value, low, high, kind)
            values[name] = kind(value)
            sources[name] = source
    design = Design(**values)
    if design.p0 >= design.p1:
        raise UsageError(sources.get("p0", "--p0"), design.p0,
                         f"must be below p1 ({design.p1}): stable means fewer crashes than crashy")
    if not design.sequential:
        for option in ("--max-seeds", "--seed-batch"):
            if given.get(option) is not None:
                raise UsageError(option, given[option], "applies to the sequential design; the fixed design trains the "
                                                        "seeds listed (--seeds, --n-seeds or the fixture's)")
    return design

