"""The training step's computation, shared by the trainer and the benchmark: forward (under bf16 autocast
when asked), the physics loss per member, backward, the global gradient norm, clipping, and the step's
one host sync — (loss, norm before clipping, norm after) per member, which the non-finite guard reads.
Whether the optimizer then steps is the caller's decision (the trainer's guard)."""

from __future__ import annotations

import torch

from ..models.memory_format import convolutions_to_channels_last
from ..physics import make_synthetic_probe, normalize_probe, predicted_amplitude
from .clipping import clip_gradients_, global_grad_norm, mark_unit_axes
from .losses import NORMALISER_EPS, amplitude_loss, amplitude_loss_terms


def autocast(enabled: bool, device: torch.device):
    """bfloat16 autocast for the convolutions when asked; SpectralConv2d computes its FFTs in float32."""
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=enabled)


def member_losses(object_patch: torch.Tensor, batch: torch.Tensor, probe: torch.Tensor, loss_mode: str,
                  members: int) -> torch.Tensor:
    """(K,) losses: member k's relative error on its own batch (channel k), normalised by its own mean X."""
    amplitude = predicted_amplitude(object_patch, probe)
    if members == 1:
        return amplitude_loss(amplitude, batch[:, 0], loss_mode).reshape(1)
    terms = amplitude_loss_terms(amplitude, batch, loss_mode)
    return terms.mean(dim=(0, 2, 3)) / (batch.detach().mean(dim=(0, 2, 3)) + NORMALISER_EPS)


def backward_and_clip(generator, parameters: list[torch.Tensor], batch: torch.Tensor, probe: torch.Tensor, *,
                      loss_mode: str = "mae", clip_algorithm: str = "norm", clip_value: float = 1.0,
                      members: int = 1, active: torch.Tensor | None = None, log_post_norm: bool = False,
                      bf16: bool = False, backward=None, grad_norm=global_grad_norm):
    """Gradients of the members' losses (only the `active` members', a (K,) mask, when given), clipped in
    place. Returns (losses tensor, loss values, pre-clip norms, post-clip norms) — the lists in one host
    sync. Clipping runs before the guard reads the norms, so that sync is the step's only one; a
    non-finite step is never taken by the caller, so its clipped gradients are never used."""
    with autocast(bf16, batch.device):
        object_patch = generator(batch)
    losses = member_losses(object_patch, batch, probe, loss_mode, members)
    total = losses.sum() if active is None else torch.where(active, losses, 0).sum()
    (backward or torch.Tensor.backward)(total)
    pre_norm = grad_norm(parameters)
    clip_gradients_(parameters, clip_algorithm, clip_value, pre_norm)
    post_norm = global_grad_norm(parameters) if log_post_norm and clip_value > 0 else pre_norm
    loss_values, pre_values, post_values = torch.stack(
        [losses.detach().float(), pre_norm.float().reshape(members), post_norm.float().reshape(members)]
    ).tolist()  # the one host sync
    return losses, loss_values, pre_values, post_values


def plain_training_step(model, optimizer, parameters, batch, probe, grad_norm=global_grad_norm, bf16: bool = False):
    """The step without Lightning or the guard's bookkeeping (what the bench times the harness against):
    global-norm clipping at 1.0, the relative-MAE loss."""
    optimizer.zero_grad(set_to_none=True)
    backward_and_clip(model, parameters, batch, probe, bf16=bf16, grad_norm=grad_norm)
    optimizer.step()


def measured_step_memory(model: torch.nn.Module, batch_size: int, n: int, device: str | torch.device) -> int:
    """Peak device memory (bytes, above what was allocated before) of the first two training steps of
    `model` with Adam on `device` — weights, gradients, Adam state and activations as they really are.
    CUDA only: other devices have no allocator statistics."""
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
