"""Measure candidate speed-ups of one training step (hybrid depth 4 and depth 6 cap 512, batch 16).

Run: .venv/bin/python benchmarks/optimizations.py   (idle machine; prints seconds per step per variant)
Each variant computes the same loss; the printed loss after the timed steps shows it.
"""

import time

import torch

from harness.models import GeneratorPlan, build_generator
from harness.models.memory_format import convolutions_to_channels_last
from harness.physics import predicted_amplitude
from harness.train.losses import amplitude_loss

STEPS, WARMUP = 5, 2


def step_time(depth, cap, *, prune=True, channels_last=False, compiled=False, threads=2):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = build_generator(GeneratorPlan("hybrid", depth=depth, max_hidden_channels=cap), prune_unreachable_modes=prune)
    if channels_last:
        convolutions_to_channels_last(model)
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(parameters, lr=1e-3)
    forward = torch.compile(model) if compiled else model
    probe = torch.ones(64, 64, dtype=torch.complex64)
    generator = torch.Generator().manual_seed(1)
    batches = [torch.rand(16, 1, 64, 64, generator=generator) for _ in range(STEPS + WARMUP)]
    if channels_last:
        batches = [b.contiguous(memory_format=torch.channels_last) for b in batches]
    times = []
    for index, batch in enumerate(batches):
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss = amplitude_loss(predicted_amplitude(forward(batch), probe), batch[:, 0])
        loss.backward()
        optimizer.step()
        if index >= WARMUP:
            times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2], loss.item()


def main():
    variants = [
        ("baseline (all modes trained)", dict(prune=False)),
        ("unreachable modes frozen", dict()),
        ("frozen + channels_last", dict(channels_last=True)),
        ("frozen + torch.compile", dict(compiled=True)),
        ("frozen, 1 thread", dict(threads=1)),
    ]
    for depth, cap in ((4, None), (6, 512)):
        for name, options in variants:
            seconds, loss = step_time(depth, cap, **options)
            print(f"depth {depth}: {name:<32} {seconds:.3f} s/step  (last loss {loss:.6f})", flush=True)


if __name__ == "__main__":
    main()
