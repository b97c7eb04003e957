"""Describe a generator without materialising it: parameters, channels, live modes, memory."""

from __future__ import annotations

import torch

from . import architecture, build_generator, check_plan
from .plan import GeneratorPlan, InfeasibleModel

ADAM_STATE_PER_WEIGHT = 2  # exp_avg and exp_avg_sq


def _bytes(tensor: torch.Tensor) -> int:
    return tensor.numel() * tensor.element_size()


def describe_generator(plan: GeneratorPlan, batch_size: int = 16) -> dict:
    """Everything a user needs to decide whether a model fits, computed on the meta device.

    `params` counts complex weights as one element (as numel does); `live_params` leaves out the
    spectral modes that the input size at each level can never reach (they get no gradient and no
    optimizer state, so the memory estimate leaves them out of both).
    """
    try:
        check_plan(plan)
    except InfeasibleModel as exc:
        return {"architecture": plan.architecture, "depth": plan.depth, "feasible": False, "reason": str(exc),
                "params": None, "live_params": None, "channels": None, "train_memory_bytes": None}

    with torch.device("meta"):
        model = build_generator(plan)
        saved_bytes = 0

        def pack(tensor):
            nonlocal saved_bytes
            saved_bytes += _bytes(tensor)
            return tensor

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
            output = model(torch.empty(batch_size, plan.in_channels, plan.n, plan.n))

    params = sum(p.numel() for p in model.parameters())
    # Spectral modes a level's input cannot reach are frozen parameters (see SpectralConv2d).
    trained = [p for p in model.parameters() if p.requires_grad]
    trained_bytes = sum(_bytes(p) for p in trained)
    memory = {
        "weights": sum(_bytes(p) for p in model.parameters()),
        "gradients": trained_bytes,
        "optimizer_state": ADAM_STATE_PER_WEIGHT * trained_bytes,
        "activations": saved_bytes + _bytes(output),
    }
    return {
        "architecture": plan.architecture,
        "what": architecture(plan.architecture).what,
        "depth": plan.depth,
        "width": plan.width,
        "modes": plan.modes,
        "max_hidden_channels": plan.max_hidden_channels,
        "n": plan.n,
        "batch_size": batch_size,
        "feasible": True,
        "reason": None,
        "params": params,
        "live_params": sum(p.numel() for p in trained),
        "channels": plan.channels if architecture(plan.architecture).halves else None,
        "sizes": plan.sizes if architecture(plan.architecture).halves else None,
        "train_memory_bytes": sum(memory.values()),
        "memory_breakdown_bytes": memory,
    }
