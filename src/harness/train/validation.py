"""The per-epoch validation pass: loss on the test split and how constant the predicted amplitude is."""

from __future__ import annotations

import numpy as np
import torch

from ..evaluate.metrics import amplitude_cv
from ..physics import predicted_amplitude
from .losses import NORMALISER_EPS, amplitude_loss_terms


@torch.no_grad()
def validation_pass(generator: torch.nn.Module, probe: torch.Tensor, patches: torch.Tensor, batch_size: int,
                    loss_mode: str, members: int = 1) -> list[dict]:
    """Per member: val_loss = mean loss terms / (mean X + 1e-8) over the whole split; val_fit_error =
    the same with |A_pred − X| as the terms (the relative diffraction-amplitude error, = val_loss for
    `mae`, the verdict's measure of fit whatever the loss); amp_cv = std/mean of |O|.

    Also returns the predicted object patches (complex, on the CPU), so the evaluation of the final
    epoch needs no second prediction pass. A stacked generator (members=K) sees every test patch in
    each member's channel and returns one result per member.
    """
    was_training = generator.training
    generator.eval()
    totals = torch.zeros(members, 3, dtype=torch.float64, device=patches.device)  # loss terms, |A_pred − X|, X
    predictions = []
    for batch in patches.split(batch_size):
        batch = batch.expand(-1, members, -1, -1)
        object_patch = generator(batch)
        object_patch = object_patch.unsqueeze(1) if members == 1 else object_patch  # (b, K, N, N)
        predictions.append(object_patch.cpu())
        amplitude = predicted_amplitude(object_patch, probe)
        for member in range(members):
            measured = batch[:, member]
            terms = amplitude_loss_terms(amplitude[:, member], measured, loss_mode)
            errors = terms if loss_mode == "mae" else amplitude_loss_terms(amplitude[:, member], measured, "mae")
            totals[member] += torch.stack([terms.double().sum(), errors.double().sum(), measured.double().sum()])
    generator.train(was_training)
    object_patches = torch.cat(predictions).numpy()
    count = patches.numel()  # one loss term per diffraction pixel
    results = []
    for member, (terms_sum, errors_sum, target_sum) in enumerate(totals.tolist()):
        normaliser = target_sum / count + NORMALISER_EPS
        member_patches = object_patches[:, member]
        results.append({"val_loss": (terms_sum / count) / normaliser, "val_fit_error": (errors_sum / count) / normaliser,
                        "amp_cv": amplitude_cv(np.abs(member_patches)), "object_patches": member_patches})
    return results
