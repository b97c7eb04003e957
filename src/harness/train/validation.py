"""The per-epoch validation pass: loss on the test split and how constant the predicted amplitude is."""

from __future__ import annotations

import math

import torch

from ..physics import predicted_amplitude
from .batches import ordered_batches
from .losses import NORMALISER_EPS, amplitude_loss_terms


@torch.no_grad()
def validation_pass(generator: torch.nn.Module, probe: torch.Tensor, patches: torch.Tensor, batch_size: int,
                    loss_mode: str) -> dict:
    """val_loss = mean loss terms / (mean X + 1e-8) over the whole split; amp_cv = std/mean of |O|.

    Also returns the predicted object patches (complex, on the CPU), so the evaluation of the final
    epoch needs no second prediction pass.
    """
    was_training = generator.training
    generator.eval()
    totals = torch.zeros(5, dtype=torch.float64, device=patches.device)  # terms, X, |O|, |O|², count
    predictions = []
    for batch in ordered_batches(patches, batch_size):
        object_patch = generator(batch)
        predictions.append(object_patch.cpu())
        amplitude = object_patch.abs().double()
        terms = amplitude_loss_terms(predicted_amplitude(object_patch, probe), batch[:, 0], loss_mode)
        totals += torch.stack([terms.double().sum(), batch.double().sum(), amplitude.sum(),
                               amplitude.square().sum(), torch.tensor(float(amplitude.numel()), device=patches.device)])
    generator.train(was_training)
    terms_sum, target_sum, amp_sum, amp_sq_sum, count = totals.tolist()
    amp_mean = amp_sum / count
    amp_var = max(amp_sq_sum / count - amp_mean**2, 0.0)
    amp_cv = math.sqrt(amp_var) / amp_mean if amp_mean > 0 else (0.0 if amp_var == 0 else math.inf)
    if not math.isfinite(amp_sum) or not math.isfinite(amp_sq_sum):
        amp_cv = math.nan
    return {"val_loss": (terms_sum / count) / (target_sum / count + NORMALISER_EPS), "amp_cv": amp_cv,
            "object_patches": torch.cat(predictions).numpy()}
