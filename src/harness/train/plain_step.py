"""One training step as a plain loop (no Lightning) doing the harness's work: forward, physics loss,
backward, global norm, clipping, the one host sync of the non-finite guard, optimizer step.

The bench times it against the harness's own step, and `describe` measures a step's peak memory with it.
"""

from __future__ import annotations

import torch

from ..physics import predicted_amplitude
from .clipping import clip_gradients_, global_grad_norm
from .losses import amplitude_loss


def autocast(enabled: bool, device: torch.device):
    """bfloat16 autocast for the convolutions when asked; SpectralConv2d computes its FFTs in float32."""
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=enabled)


def plain_training_step(model, optimizer, parameters, batch, probe, grad_norm=global_grad_norm, bf16: bool = False):
    optimizer.zero_grad(set_to_none=True)
    with autocast(bf16, batch.device):
        object_patch = model(batch)
    loss = amplitude_loss(predicted_amplitude(object_patch, probe), batch[:, 0])
    loss.backward()
    norm = grad_norm(parameters)
    clip_gradients_(parameters, "norm", 1.0, norm)
    torch.stack([loss.detach(), norm]).tolist()  # the harness's one host sync per step (the non-finite guard)
    optimizer.step()


def measured_step_memory(model: torch.nn.Module, batch_size: int, n: int, device: str | torch.device) -> int:
    """Peak device memory (bytes, above what was allocated before) of the first two training steps of
    `model` with Adam on `device` — weights, gradients, Adam state and activations as they really are.
    CUDA only: other devices have no allocator statistics."""
    from ..models.memory_format import convolutions_to_channels_last
    from ..physics import make_synthetic_probe, normalize_probe
    from .clipping import mark_unit_axes

    device = torch.device(device)
    if device.type != "cuda":
        raise ValueError(f"peak memory is measured on a CUDA device, not {device}")
    torch.cuda.synchronize(device)
    torch.cuda.empty_cache()
    before = torch.cuda.memory_allocated(device)
    torch.cuda.reset_peak_memory_stats(device)
    model = model.to(device)
    convolutions_to_channels_last(model)
    mark_unit_axes(model)
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(parameters, lr=1e-3)
    probe = torch.from_numpy(normalize_probe(make_synthetic_probe(n))).to(device)
    batch = torch.rand(batch_size, 1, n, n, device=device)
    for _ in range(2):  # the second step has the Adam state allocated
        plain_training_step(model, optimizer, parameters, batch, probe)
    torch.cuda.synchronize(device)
    peak = torch.cuda.max_memory_allocated(device) - before
    del optimizer, parameters, batch
    return peak
