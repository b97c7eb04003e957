"""`harness bench`: training and inference throughput, FLOP/s and the machine's own reference rate.

Every figure is measured in one process and also given as a fraction of the machine's measured peak
(the faster of a large matmul and the model's own convolution shapes), so runs on different
machines compare as ratios.
"""

from __future__ import annotations

import math
import platform
import tempfile
import time
import types
from dataclasses import dataclass

import lightning
import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from .data import DatasetParams, get_dataset
from .environment import kernel_info
from .models import GeneratorPlan, SpectralConv2d, build_generator
from .models.members import stack_members
from .models.memory_format import convolutions_to_channels_last
from .models.spectral_conv import definition_forward
from .physics import predicted_amplitude
from .train import TrainConfig, TrainingData, fit, seeded
from .train.clipping import global_grad_norm, mark_unit_axes
from .train.losses import amplitude_loss
from .train.member import Member
from .train.step import plain_training_step
from .train.trainer import fit_group

BATCH = 16
MODELS = (("hybrid", 4, None), ("hybrid", 6, 512), ("stable_hybrid", 4, None))


@dataclass
class BenchSettings:
    steps: int = 8             # timed optimizer steps per model (after warm-up)
    warmup: int = 2
    n: int = 64
    device: str = "cpu"
    threads: int | None = None
    width: int = 32
    cap: int | None = None     # a profile's cap replaces each row's (the quick profile's scale)
    label: str = ""            # what the rows measure, e.g. "quick profile (N=32, width 16, cap 128)"

    def plan(self, architecture: str, depth: int, cap: int | None) -> GeneratorPlan:
        return GeneratorPlan(architecture, depth, self.width, max_hidden_channels=self.cap or cap, n=self.n)

    def model_name(self, architecture: str, depth: int, cap: int | None) -> str:
        """A row's name: the model and the cap it was benched with (the profile's, else the row's)."""
        used = self.cap or cap
        return f"{architecture} depth {depth}" + (f" cap {used}" if used else "")


def _sync(device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def _timed(function, repeats: int, device) -> float:
    """Median seconds of `function()` over repeats."""
    times = []
    for _ in range(repeats):
        _sync(device)
        start = time.perf_counter()
        function()
        _sync(device)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def reference_rates(device: str) -> dict:
    """The machine's FLOP/s on a large matmul and on 3×3 convolutions of the model's shapes."""
    size = 1024
    a, b = torch.randn(size, size, device=device), torch.randn(size, size, device=device)
    a @ b
    matmul = 2 * size**3 / _timed(lambda: a @ b, 5, device)
    conv_rates = {}
    for channels, pixels in ((32, 64), (256, 8)):
        x = torch.randn(BATCH, channels, pixels, pixels, device=device)
        conv = torch.nn.Conv2d(channels, channels, 3, padding=1).to(device)
        with torch.no_grad():
            conv(x)
            seconds = _timed(lambda conv=conv, x=x: conv(x), 5, device)
        conv_rates[f"conv3x3_{channels}ch_{pixels}px"] = 2 * 9 * channels * channels * pixels * pixels * BATCH / seconds
    return {"matmul_1024": matmul, **conv_rates, "peak": max(matmul, *conv_rates.values())}


def _plain_step_seconds(model, batches, probe, settings: BenchSettings, grad_norm=global_grad_norm,
                        bf16: bool = False) -> float:
    """Seconds per step of a plain loop (no Lightning) doing the harness's work, after warm-up steps."""
    mark_unit_axes(model)
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(parameters, lr=1e-3)
    for batch in batches[:settings.warmup]:
        plain_training_step(model, optimizer, parameters, batch, probe, grad_norm, bf16)
    timed_batches = iter(batches[settings.warmup:])
    # the median step: a shared VM's outliers do not move it
    return _timed(lambda: plain_training_step(model, optimizer, parameters, next(timed_batches), probe, grad_norm, bf16),
                  settings.steps, settings.device)


def _torch_complex_grad_norm(parameters) -> torch.Tensor:
    return torch.nn.utils.get_total_norm([p.grad for p in parameters if p.grad is not None], foreach=True)


def verbatim_generator(plan: GeneratorPlan, device) -> torch.nn.Module:
    """The generator as its definition reads, before any speed work: every spectral mode trained, NCHW
    tensors, each spectral layer computed by its definition (full rfft2, einsum, irfft2)."""
    with seeded(0):
        model = build_generator(plan, prune_unreachable_modes=False).to(device)
    for module in model.modules():
        if isinstance(module, SpectralConv2d):
            module.forward = types.MethodType(definition_forward, module)  # type: ignore[method-assign]
    return model


def bench_model(architecture: str, depth: int, cap: int | None, settings: BenchSettings) -> dict:
    device = settings.device
    config = TrainConfig(epochs=1, batch_size=BATCH, grad_clip=1.0, log_grad_norm=False, infer_batch_size=BATCH)
    with seeded(0):
        model = build_generator(settings.plan(architecture, depth, cap)).to(device)
    if config.channels_last:  # the plain loop does exactly what the harness does
        convolutions_to_channels_last(model)
    parameters = [p for p in model.parameters() if p.requires_grad]
    patches = torch.rand(BATCH * (settings.steps + settings.warmup), 1, settings.n, settings.n, device=device)
    probe = torch.ones(settings.n, settings.n, dtype=torch.complex64, device=device)
    batches = list(patches.split(BATCH))

    with FlopCounterMode(display=False) as counter:
        loss = amplitude_loss(predicted_amplitude(model(batches[0]), probe), batches[0][:, 0])
        loss.backward()
    step_flops = counter.get_total_flops()
    model.zero_grad(set_to_none=True)

    initial_state = {name: value.clone() for name, value in model.state_dict().items()}
    plain_step = _plain_step_seconds(model, batches, probe, settings)
    bf16_step = _plain_step_seconds(model, batches, probe, settings, bf16=True)
    model.load_state_dict(initial_state)
    verbatim_step = _plain_step_seconds(verbatim_generator(settings.plan(architecture, depth, cap), device), batches,
                                        probe, settings, grad_norm=_torch_complex_grad_norm)

    # The same steps through the harness (Lightning module, guard, clipping). The marginal cost of a
    # step: an epoch of 2·S steps minus an epoch of S steps, so per-fit costs (a fresh optimizer's
    # state, Lightning's set-up) cancel out.
    def harness_epoch_seconds(steps: int) -> float:
        train_x = patches[BATCH * settings.warmup:].repeat(2, 1, 1, 1)[:BATCH * steps]
        data = TrainingData(train_x=train_x, test_x=patches[:BATCH], probe=probe)
        return fit(model, data, config, device=device, threads=settings.threads).epochs[0]["train_s"]

    harness_epoch_seconds(1)  # warm-up of the Lightning path
    harness_step = (harness_epoch_seconds(2 * settings.steps) - harness_epoch_seconds(settings.steps)) / settings.steps

    inference_batch = patches[:64]
    with torch.no_grad():
        model.eval()
        model(inference_batch)
        inference_s = _timed(lambda: model(inference_batch), 3, device)
        model.train()
    return {
        "model": settings.model_name(architecture, depth, cap),
        "params": sum(p.numel() for p in model.parameters()),
        "trained_params": sum(p.numel() for p in parameters),
        "plain_step_s": plain_step,
        "harness_step_s": harness_step,
        "harness_overhead": harness_step / plain_step - 1,
        "verbatim_plain_step_s": verbatim_step,
        "speedup_vs_verbatim": verbatim_step / harness_step,
        "bf16_plain_step_s": bf16_step,
        "train_patches_per_s": BATCH / harness_step,
        "inference_patches_per_s": 64 / inference_s,
        "step_flops": step_flops,
        "achieved_flops_per_s": step_flops / plain_step,
    }


def bench_group(architecture: str, depth: int, cap: int | None, members: int, settings: BenchSettings) -> dict:
    """Seed-batched training through the harness (fit_group): K members as one stacked model. A group
    step's time is the median interval between consecutive steps of one epoch (warm-up steps left out),
    everything the harness does between two steps included."""
    device, steps = settings.device, settings.steps + settings.warmup + 1
    config = TrainConfig(epochs=1, batch_size=BATCH, grad_clip=1.0, log_grad_norm=False, infer_batch_size=BATCH)
    seeds = list(range(members))
    patches = torch.rand(BATCH * steps, 1, settings.n, settings.n, device=device)
    probe = torch.ones(settings.n, settings.n, dtype=torch.complex64, device=device)
    plan = settings.plan(architecture, depth, cap)
    with seeded(0):
        singles = [build_generator(plan) for _ in seeds]
        model = singles[0] if members == 1 else stack_members(build_generator(plan, members=members), singles)
    model = model.to(device)
    stamps = []

    def stamp(*_):
        _sync(device)
        stamps.append(time.perf_counter())

    data = TrainingData(train_x=patches, test_x=patches[:BATCH], probe=probe)
    on_cuda = torch.device(device).type == "cuda"
    if on_cuda:
        torch.cuda.reset_peak_memory_stats(device)
    fit_group(model, data, config, [Member(seed) for seed in seeds], device=device, threads=settings.threads,
              on_step=stamp)
    step_s = float(np.median(np.diff(stamps)[settings.warmup:]))
    return {"model": settings.model_name(architecture, depth, cap),
            "members": members,
            "group_step_s": step_s, "steps_per_s_per_member": 1 / step_s, "member_steps_per_s_total": members / step_s,
            # the device's peak allocation during the group's training (None on a CPU: no allocator to ask)
            "peak_memory_bytes": torch.cuda.max_memory_allocated(device) if on_cuda else None}


def format_group_row(row: dict) -> str:
    memory = "" if row.get("peak_memory_bytes") is None else f"  peak {row['peak_memory_bytes'] / 2**30:.2f} GiB"
    return (f"{row['model']:<24} K={row['members']:<3} group step {row['group_step_s']:.3f} s  "
            f"{row['steps_per_s_per_member']:.2f} steps/s per member  {row['member_steps_per_s_total']:.2f} in total"
            + memory)


def run_bench(settings: BenchSettings, models=MODELS, progress=print, groups: tuple[int, ...] = (1, 3, 10)) -> dict:
    previous_threads = torch.get_num_threads()
    if settings.threads:
        torch.set_num_threads(settings.threads)
    try:
        kernels = kernel_info(settings.device)
        progress("kernels: " + ", ".join(f"{key} {value}" for key, value in kernels.items()))
        reference = reference_rates(settings.device) if models else None   # the models' FLOP/s are read against it
        if reference:
            progress(f"reference: matmul {reference['matmul_1024'] / 1e9:.1f} GFLOP/s, "
                     f"peak {reference['peak'] / 1e9:.1f} GFLOP/s")
        results = []
        for architecture, depth, cap in models:
            result = bench_model(architecture, depth, cap, settings)
            result["fraction_of_peak"] = result["achieved_flops_per_s"] / reference["peak"] if reference else None
            results.append(result)
            progress(format_row(result))
        group_rows = []
        for members in groups:
            group_rows.append(bench_group("hybrid", 4, None, members, settings))
            progress(format_group_row(group_rows[-1]))
        dataset_s = _dataset_build_seconds() if models else None   # (a groups-only bench takes seconds)
    finally:
        torch.set_num_threads(previous_threads)
    result = {
        "scale": settings.label or f"N={settings.n}, width {settings.width}",
        "device": settings.device if settings.device != "cuda" else torch.cuda.get_device_name(0),
        "threads": settings.threads or torch.get_num_threads(),
        "machine": platform.machine(),
        "versions": {"torch": torch.__version__, "lightning": lightning.__version__, "python": platform.python_version()},
        "kernels": kernels,
        "reference_flops_per_s": reference,
        "models": results,
        "seed_groups": group_rows,
        "paper_dataset_build_s": dataset_s,
    }
    steps_per_paper_epoch = math.ceil(6889 / BATCH)
    depth4 = next((r for r in results if r["model"] == "hybrid depth 4"), None)
    if depth4 is not None and settings.n == 64 and settings.width == 32:
        result.update({
            "paper_epoch_depth4_minutes": steps_per_paper_epoch * depth4["harness_step_s"] / 60,
            "paper_epoch_depth4_minutes_verbatim_plain_loop": steps_per_paper_epoch * depth4["verbatim_plain_step_s"] / 60,
            "paper_epoch_depth4_minutes_bf16_plain_loop": steps_per_paper_epoch * depth4["bf16_plain_step_s"] / 60})
    return result


def _dataset_build_seconds() -> float:
    with tempfile.TemporaryDirectory() as cache_dir:
        start = time.perf_counter()
        get_dataset(DatasetParams(set_phi=True), cache_dir)
        return time.perf_counter() - start


def format_row(result: dict) -> str:
    return (f"{result['model']:<24} step {result['harness_step_s']:.3f} s (plain {result['plain_step_s']:.3f} s, "
            f"overhead {100 * result['harness_overhead']:+.1f}%; verbatim {result['verbatim_plain_step_s']:.3f} s "
            f"= ×{result['speedup_vs_verbatim']:.2f}; bf16 autocast {result['bf16_plain_step_s']:.3f} s)  "
            f"train {result['train_patches_per_s']:.1f} patch/s  infer {result['inference_patches_per_s']:.1f} patch/s  "
            f"{result['achieved_flops_per_s'] / 1e9:.1f} GFLOP/s"
            + (f" = {100 * result['fraction_of_peak']:.0f}% of peak" if "fraction_of_peak" in result else ""))


def compare(current: dict, saved: dict) -> list[str]:
    """Ratios current/saved of step times and throughputs, model by model (> 1 step ratio = slower)."""
    lines = [f"compared with a saved run on {saved.get('device')} ({saved.get('threads')} threads):"]
    saved_models = {m["model"]: m for m in saved.get("models", [])}
    for result in current["models"]:
        before = saved_models.get(result["model"])
        if before is None:
            continue
        lines.append(f"  {result['model']:<24} step time ×{result['harness_step_s'] / before['harness_step_s']:.2f}"
                     f"  train throughput ×{result['train_patches_per_s'] / before['train_patches_per_s']:.2f}"
                     f"  inference ×{result['inference_patches_per_s'] / before['inference_patches_per_s']:.2f}")
    return lines
