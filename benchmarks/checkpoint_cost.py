"""What a checkpoint costs: its size and write time for the depth-4 and depth-6 (cap 512) hybrids,
against the time of a training step, a quick-profile epoch (28 steps) and a paper epoch (431 steps).

Run: .venv/bin/python benchmarks/checkpoint_cost.py [--threads 2] [--device cpu] [--out-dir /tmp]
"""

import argparse
import tempfile
import time

import numpy as np
import torch

from harness.models import GeneratorPlan, build_generator
from harness.models.memory_format import convolutions_to_channels_last
from harness.physics import make_synthetic_probe, normalize_probe
from harness.train.checkpoint import AUTO_COST_FACTOR, AUTO_MIN_INTERVAL_S, Checkpointer, random_states
from harness.train.clipping import mark_unit_axes
from harness.train.step import plain_training_step

QUICK_STEPS, PAPER_STEPS = 28, 431


def step_seconds(model, optimizer, probe, device, repeats=3) -> float:
    parameters = [p for p in model.parameters() if p.requires_grad]
    batch = torch.rand(16, 1, 64, 64, device=device)
    times = []
    for _ in range(repeats + 1):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        plain_training_step(model, optimizer, parameters, batch, probe)
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return float(np.median(times[1:]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out-dir", default=None, help="where to write the checkpoints (default: a temporary folder)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    probe = torch.from_numpy(normalize_probe(make_synthetic_probe(64))).to(device)
    print("| model | parameters | checkpoint MB | write s | step s | write / quick epoch | write / paper epoch |"
          " automatic interval s |")
    print("|---|---|---|---|---|---|---|---|")
    for depth, cap in ((4, None), (6, 512)):
        torch.manual_seed(0)
        model = build_generator(GeneratorPlan("hybrid", depth=depth, max_hidden_channels=cap)).to(device)
        convolutions_to_channels_last(model)
        mark_unit_axes(model)
        optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)
        step_s = step_seconds(model, optimizer, probe, device)
        with tempfile.TemporaryDirectory(dir=args.out_dir) as folder:
            checkpointer = Checkpointer(folder, "bench")
            writes = []
            for _ in range(3):
                state = {"position": [1, 0], "generator": model.state_dict(), "optimizer": optimizer.state_dict(),
                         "scheduler": None, "random": random_states(), "history": {"epochs": [], "steps": []}}
                started = time.perf_counter()
                checkpointer.write(state)
                writes.append(time.perf_counter() - started)
            write_s, megabytes = float(np.median(writes)), checkpointer.bytes / 1e6
        params = sum(p.numel() for p in model.parameters())
        print(f"| hybrid depth {depth}{' cap ' + str(cap) if cap else ''} | {params:,} | {megabytes:.0f} | "
              f"{write_s:.2f} | {step_s:.3f} | {write_s / (QUICK_STEPS * step_s):.1%} | "
              f"{write_s / (PAPER_STEPS * step_s):.2%} | {max(AUTO_MIN_INTERVAL_S, AUTO_COST_FACTOR * write_s):.0f} |")


if __name__ == "__main__":
    main()
