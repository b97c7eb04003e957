"""`harness plan`: what the design can tell before it runs — each decision's chance and the runs it takes (crash
hunt), the power for one better arm among the selected arms (shootout), the earliest look that can decide, the
budget a named power needs, and the wall time the runs already in a runs folder suggest."""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from ..errors import UsageError
from ..settings import name_list
from ..study import load_studies, records_from_runs_dir
from ..study.definitions import CONTROL_ARM
from ..study.design import DESIGN_OPTIONS, Design, add_design_options, make_design
from ..study.operating import (
    RATES,
    budget_for_power,
    crash_hunt_characteristics,
    shootout_characteristics,
    sprt_budget_for_power,
)
from ..study.plan import shootout_arms


def add_parser(subparsers, name: str) -> None:
    parser = subparsers.add_parser(name, help="the design's error rates, power and expected runs before it runs")
    parser.add_argument("--arms", default=None, help="the shootout's arms (or a set of arms) as the study takes them "
                        "(default: the fixture's [shootout] arms)")
    parser.add_argument("--rates", default=None, help="true P_crash values for the crash hunt's table "
                        f"(default {','.join(map(str, RATES))})")
    parser.add_argument("--shootout-rates", default="0.0,0.3", metavar="ARM,CONTROL",
                        help="the better arm's and the control's true P_crash for the power (default 0.0,0.3)")
    parser.add_argument("--power", type=float, default=None, help="search the budget (--max-seeds) that reaches "
                        "this power: the shootout's at --shootout-rates, the crash hunt's crashy call at p1")
    parser.add_argument("--runs-dir", default=None, metavar="DIR",
                        help="a runs folder whose finished runs give the seconds per run for the wall time")
    add_design_options(parser.add_argument)


def _rates(text: str, option: str) -> list[float]:
    try:
        values = [float(part) for part in text.replace(" ", ",").split(",") if part]
    except ValueError:
        raise UsageError(option, text, "must be numbers between 0 and 1, comma-separated") from None
    if not values or any(not 0.0 <= value <= 1.0 for value in values):
        raise UsageError(option, text, "must be numbers between 0 and 1, comma-separated")
    return values


def _seconds_per_run(folder: str | None) -> tuple[float, int] | None:
    if folder is None:
        return None
    if not Path(folder).is_dir():
        raise UsageError("--runs-dir", folder, "not a folder")
    walls = [r.wall_s for r in records_from_runs_dir(folder).records if r.wall_s and not r.reused]
    return (statistics.median(walls), len(walls)) if walls else None


def crash_hunt_lines(design: Design, rates: list[float], depths: int) -> list[str]:
    kind = (f"sequential: SPRT P_crash ≤ {design.p0} (stable) against ≥ {design.p1} (crashy), α {design.alpha}, "
            f"β {design.beta}, up to {design.max_seeds} seeds per depth" if design.sequential
            else f"fixed: {design.max_seeds} seeds per depth, exact one-sided tests at α {design.alpha}")
    lines = [f"Crash hunt ({kind}), one depth, every run classified:",
             "  P_crash   stable   crashy   undecided   expected runs"]
    for row in crash_hunt_characteristics(design, rates):
        lines.append(f"  {row.rate:7.2f}   {row.stable:6.3f}   {row.crashy:6.3f}   {row.undecided:9.3f}   "
                     f"{row.expected_runs:13.1f}")
    lines.append(f"  Over {depths} depths the crash depth is tested as a fixed sequence from the deepest, so a false "
                 f"crash depth has chance ≤ α = {design.alpha} in all.")
    return lines


def shootout_lines(design: Design, arms: int, rate_arm: float, rate_control: float) -> list[str]:
    plan = design.look_plan()
    found = shootout_characteristics(plan, rate_arm, rate_control, arms)
    single = shootout_characteristics(plan, rate_arm, rate_control, 1)
    looks = ", ".join(f"{seeds} seeds: p ≤ {level:.2g}" for seeds, level in zip(plan.looks, found.levels))
    never = [str(index + 1) for index in range(len(plan.looks)) if found.earliest_look and index + 1 < found.earliest_look]
    return [f"Shootout ({arms} arm{'s' if arms != 1 else ''} against the control under Holm, looks at {looks}; "
            f"futility below {plan.futility} conditional power):",
            f"  power for one arm at P_crash {rate_arm} against the control at {rate_control}, the others equal to "
            f"the control: {found.power:.2f} (a lower bound, off by at most α {design.alpha}); alone (one arm): "
            f"{single.power:.2f}",
            f"  it stops for futility {found.futile:.2f} of the time; expected seeds per arm {found.expected_seeds:.1f} "
            f"of {plan.looks[-1]}",
            "  earliest look that can decide: " + (f"look {found.earliest_look}" if found.earliest_look else "none")
            + (f" (look {', '.join(never)} cannot: no outcome reaches its level)" if never else "")]


def run(args: argparse.Namespace) -> int:
    studies = load_studies()
    design = make_design(studies.design_table, {option: getattr(args, option[2:].replace("-", "_"))
                                                for option in DESIGN_OPTIONS}, f"{studies.source} [design]")
    rates = _rates(args.rates, "--rates") if args.rates is not None else list(RATES)
    pair = _rates(args.shootout_rates, "--shootout-rates")
    if len(pair) != 2:
        raise UsageError("--shootout-rates", args.shootout_rates, "must be two numbers: the arm's and the control's")
    if args.power is not None and not 0.0 < args.power < 1.0:
        raise UsageError("--power", args.power, "must be a number between 0 and 1")
    arms = [arm for arm in shootout_arms(name_list(args.arms, "--arms"), studies) if arm != CONTROL_ARM]
    depths = len(studies.crash_hunt["depths"])
    lines = crash_hunt_lines(design, rates, depths) + [""]
    lines += shootout_lines(design, max(len(arms), 1), *pair) if design.sequential else [
        "Shootout: a fixed design tests once at its seeds (see the report's power line)."]
    if args.power is not None:
        lines += ["", *_budget_lines(design, args.power, max(len(arms), 1), pair)]
    if (measured := _seconds_per_run(args.runs_dir)) is not None:
        seconds, count = measured
        hunt = sum(row.expected_runs for row in crash_hunt_characteristics(design, [design.p1])) * depths
        lines += ["", f"Wall time at {seconds:.0f} s per run (median of {count} runs in {args.runs_dir}), one worker: "
                  f"crash hunt about {hunt * seconds / 3600:.1f} h at P_crash {design.p1} on every depth; "
                  f"the shootout's worst case {(len(arms) + 1) * design.max_seeds * seconds / 3600:.1f} h"]
    print("\n".join(lines))
    return 0


def _budget_lines(design: Design, target: float, arms: int, pair: list[float]) -> list[str]:
    shoot = budget_for_power(design, target, pair[0], pair[1], arms)
    hunt = sprt_budget_for_power(design, target, design.p1)
    return [f"Budget for power {target}:",
            "  shootout: " + (f"--max-seeds {shoot[0]} (power {shoot[1].power:.2f}, expected seeds per arm "
                              f"{shoot[1].expected_seeds:.1f})" if shoot else "not within 60 seeds per arm"),
            "  crash hunt, crashy at P_crash = p1: " + (
                f"--max-seeds {hunt[0]} (chance {hunt[1].crashy:.2f}, expected runs {hunt[1].expected_runs:.1f})"
                if hunt else "not within 60 seeds (the SPRT's β bounds it: lower --beta)")]
