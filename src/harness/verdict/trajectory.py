"""A run's course over its epochs: the per-epoch series the verdict reads, its peak and failure onsets.

Epoch numbers here and in stats.json count from 1, as the progress lines print them
(history.json keeps the trainer's 0-based `epoch` index).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, TypeGuard


def is_finite(value: object) -> TypeGuard[float]:
    """A finite number (not None, not NaN or ±inf)."""
    return value is not None and isinstance(value, (int, float)) and math.isfinite(value)


def epoch_fit_error(epoch: dict, loss_mode: str | None) -> float | None:
    """The relative diffraction-amplitude error of one epoch's validation: recorded as `val_fit_error`;
    in histories written before it was, the validation loss when the loss mode is `mae` (the same quantity)."""
    if "val_fit_error" in epoch:
        return epoch["val_fit_error"]
    if loss_mode in (None, "mae"):
        return epoch.get("val_loss")
    return None


@dataclass(frozen=True)
class Trajectory:
    amp_ssim: list[float | None]     # per epoch (None where not recorded)
    amp_cv: list[float | None]
    fit_error: list[float | None]

    @classmethod
    def from_history(cls, history: dict, loss_mode: str | None = "mae") -> "Trajectory":
        epochs = history.get("epochs") or []
        return cls(amp_ssim=[e.get("amp_ssim") for e in epochs], amp_cv=[e.get("amp_cv") for e in epochs],
                   fit_error=[epoch_fit_error(e, loss_mode) for e in epochs])

    @property
    def n_epochs(self) -> int:
        return len(self.amp_ssim)

    def peak_amp_ssim(self, before_epoch: int | None = None) -> tuple[float | None, int | None]:
        """(highest finite amp_ssim, its 1-based epoch), over the epochs before `before_epoch` if given."""
        last = self.n_epochs if before_epoch is None else before_epoch - 1
        values = [(value, index + 1) for index, value in enumerate(self.amp_ssim[:max(last, 0)]) if is_finite(value)]
        if not values:
            return None, None
        return max(values, key=lambda pair: (pair[0], -pair[1]))

    def onset_of_final_streak(self, series: str, failing: Callable[[float], bool]) -> int | None:
        """The 1-based epoch from which `failing` holds for every remaining epoch of the series
        (None when the last epoch does not fail or the series was not recorded)."""
        values = getattr(self, series)
        onset = None
        for index in range(len(values) - 1, -1, -1):
            if not is_finite(values[index]) or not failing(values[index]):
                break
            onset = index + 1
        return onset
