"""What would make a run's training step faster on this machine, each option against the code as it trains now,
measured in one bench run so the ratios survive a noisy machine.

The study trains one run per pytest-xdist worker with one torch thread each and channels-last convolutions in
float32. The options it could take instead: NCHW convolutions, bfloat16 autocast, `torch.compile` (inductor),
and the same cores given as threads to one run instead of to side-by-side runs. A ratio above 1 is faster than
now. Only an option that computes the same numbers (`same_math`) could replace the current code without
changing the verdicts it measures; bf16 changes the arithmetic of the recipe under test.
"""

from __future__ import annotations

import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from multiprocessing import get_context

import torch

from .bench import BATCH, BenchSettings, _plain_step_seconds
from .models import GeneratorPlan, build_generator
from .models.memory_format import convolutions_to_channels_last
from .train.seeding import seeded


@dataclass(frozen=True)
class StepSetup:
    """One way of running the training step: what the options vary."""
    plan: GeneratorPlan
    steps: int = 12
    warmup: int = 3
    threads: int = 1
    channels_last: bool = True
    bf16: bool = False
    compiled: bool = False


def step_seconds(setup: StepSetup) -> tuple[float, float]:
    """(median seconds per timed step, seconds of the warm-up steps) of the bench's plain training step under
    `setup`, in this process. The warm-up holds `torch.compile`'s compilation when asked."""
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(setup.threads)
    try:
        with seeded(0):
            model = build_generator(setup.plan)
            patches = torch.rand(BATCH * (setup.steps + setup.warmup), 1, setup.plan.n, setup.plan.n)
        if setup.channels_last:
            convolutions_to_channels_last(model)
        probe = torch.ones(setup.plan.n, setup.plan.n, dtype=torch.complex64)
        timing = BenchSettings(steps=setup.steps, warmup=setup.warmup, n=setup.plan.n)
        start = time.perf_counter()
        step = _plain_step_seconds(torch.compile(model) if setup.compiled else model, list(patches.split(BATCH)),
                                   probe, timing, bf16=setup.bf16)
        # the timed steps took about steps × their median; the rest of the call was the warm-up
        return step, max(time.perf_counter() - start - setup.steps * step, 0.0)
    finally:
        torch.set_num_threads(previous_threads)


def side_by_side_step_seconds(setup: StepSetup, runs: int) -> tuple[float, float]:
    """(mean per-run step, longest warm-up) when `runs` processes train side by side (the study's layout on
    `runs` xdist workers): the cores and the memory bandwidth are shared as they are in a session."""
    with ProcessPoolExecutor(max_workers=runs, mp_context=get_context("spawn")) as pool:
        results = list(pool.map(step_seconds, [setup] * runs))
    return sum(step for step, _ in results) / runs, max(warmup for _, warmup in results)


@dataclass(frozen=True)
class OptionRow:
    option: str
    what: str
    same_math: bool
    step_s: float | None            # seconds per step of one run under the option
    throughput_ratio: float | None  # the machine's run-steps per second, option / current (> 1: faster)
    note: str = ""


def measure_options(plan: GeneratorPlan, cores: int, steps: int = 12, native_bf16: bool = True,
                    progress=print) -> list[OptionRow]:
    """Each option's step, and the machine's run-steps per second relative to the current layout (`cores` runs
    side by side, one thread each, channels-last, float32). A single-threaded option is measured in the same
    layout, `cores` processes at once; the threads option as one run given every core."""
    base = StepSetup(plan, steps=steps)
    current, _ = side_by_side_step_seconds(base, cores)
    rows = [OptionRow("current", f"{cores} run(s) side by side, 1 thread each, channels-last, float32", True,
                      current, 1.0)]
    progress(format_option(rows[-1]))
    options = [("nchw", "NCHW convolutions (channels-last off)", True, replace(base, channels_last=False), ""),
               ("bf16", "bfloat16 autocast of the convolutions", False, replace(base, bf16=True),
                "" if native_bf16 else "emulated on this CPU"),
               ("compile", "torch.compile (inductor)", True, replace(base, compiled=True), "")]
    if cores > 1:
        options.append(("threads", f"1 run with {cores} threads instead of {cores} runs side by side", True,
                        replace(base, threads=cores), ""))
    for option, what, same_math, setup, note in options:
        try:
            if setup.threads == 1:
                step, warmup = side_by_side_step_seconds(setup, cores)
                ratio = current / step
            else:
                step, warmup = step_seconds(setup)
                ratio = current / (cores * step)
            if setup.compiled:
                note = f"compilation and warm-up {warmup:.0f} s per run"
        except Exception as exc:   # an option this machine cannot run (no compiler for inductor, say) is a row
            rows.append(OptionRow(option, what, same_math, None, None, f"unavailable: {str(exc).splitlines()[0]}"))
        else:
            rows.append(OptionRow(option, what, same_math, step, ratio, note))
        progress(format_option(rows[-1]))
    return rows


def format_option(row: OptionRow) -> str:
    if row.step_s is None:
        return f"  {row.option:<8} {row.what}: {row.note}"
    math = "same math" if row.same_math else "different arithmetic"
    return (f"  {row.option:<8} step {1000 * row.step_s:6.1f} ms  throughput ×{row.throughput_ratio:.2f}  "
            f"({math}) {row.what}" + (f"; {row.note}" if row.note else ""))
