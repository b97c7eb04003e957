"""`harness describe`: parameters, channel plan, feasibility and training memory, without training."""

from __future__ import annotations

import argparse
import json

import torch

from ..environment import gpu_name
from ..models import build_generator
from ..models.describe import describe_generator
from ..run.configure import check_device, model_plans
from ..settings import add_flags, check_numbers
from ..train.step import measured_step_memory


def add_parser(subparsers, name: str) -> None:
    parser = subparsers.add_parser(name, help="describe a model (size, channels, memory) without building it")
    add_flags(parser, ("model",))
    parser.add_argument("--N", type=int, default=64, help="patch size")
    parser.add_argument("--torch-batch-size", type=int, default=16, help="batch size for the activation estimate")
    parser.add_argument("--json", action="store_true", help="print JSON (one object; a list for several architectures)")
    parser.add_argument("--device", default="auto",
                        help="auto | cpu | cuda: on a GPU, also measure the peak memory of a real training step")


def _gib(value: int) -> str:
    return f"{value / 2**30:.2f} GiB"


def format_description(info: dict) -> str:
    head = f"{info['architecture']} depth {info['depth']}"
    if not info["feasible"]:
        return f"{head}: infeasible — {info['reason']}"
    memory = info["memory_breakdown_bytes"]
    measured = info.get("measured_peak_bytes")
    lines = [] if measured is None else [
        f"  measured peak of a real training step on {info['measured_on']}: {_gib(measured)}"
        f" ({measured / info['train_memory_bytes']:.2f} × the estimate)"]
    return "\n".join([
        f"{head}: {info['params']:,} parameters ({info['live_params']:,} live at N={info['n']})",
        f"  channels per level: {info['channels']}  (spatial sizes {info['sizes']})" if info["channels"]
        else f"  {info['what']}",
        f"  training memory at batch {info['batch_size']}: {_gib(info['train_memory_bytes'])}"
        f" = weights {_gib(memory['weights'])} + gradients {_gib(memory['gradients'])}"
        f" + Adam state {_gib(memory['optimizer_state'])} + activations {_gib(memory['activations'])}",
        *lines,
    ])


def run(args: argparse.Namespace) -> int:
    check_numbers(args)
    plans = model_plans(args)
    device = check_device(args.device)
    infos = [describe_generator(plan, batch_size=args.torch_batch_size) for plan in plans]
    for plan, info in zip(plans, infos):
        info["measured_peak_bytes"], info["measured_on"] = _measured_peak(plan, info, args.torch_batch_size, device)
    if args.json:
        print(json.dumps(infos[0] if len(infos) == 1 else infos, indent=2))
    else:
        print("\n".join(format_description(info) for info in infos))
    return 0


def _measured_peak(plan, info: dict, batch_size: int, device: str) -> tuple[int | None, str | None]:
    """Peak memory of two real training steps on a GPU (None on a CPU, or when the model cannot be built)."""
    if not device.startswith("cuda") or not info["feasible"]:
        return None, None
    model = build_generator(plan)
    try:
        return measured_step_memory(model, batch_size, plan.n, device), gpu_name(device)
    except torch.OutOfMemoryError:
        return None, f"{gpu_name(device)} (out of memory)"
    finally:
        del model
        torch.cuda.empty_cache()
