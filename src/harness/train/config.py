"""Training settings as one typed dataclass (SPEC §5)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .clipping import CLIP_ALGORITHMS
from .losses import LOSS_MODES
from .optimizers import OPTIMIZERS
from .schedulers import SCHEDULERS


@dataclass(frozen=True)
class TrainConfig:
    seed: int = 20260128                   # the studies' first seed
    epochs: int = 30
    batch_size: int = 16
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)
    grad_clip: float = 0.0                 # ≤ 0: no clipping
    grad_clip_algorithm: str = "norm"
    loss_mode: str = "mae"
    scheduler: str = "Default"
    warmup_epochs: int = 0
    min_lr_ratio: float = 0.0
    log_grad_norm: bool = False
    grad_norm_log_freq: int = 1
    collapse_patience: int = 0             # stop after this many collapsed epochs in a row; 0 = never
    infer_batch_size: int = 64
    bf16_autocast: bool = False            # convolutions in bfloat16; FFTs and spectral weights stay float32
    channels_last: bool = True             # NHWC convolutions: same math, faster oneDNN kernels on CPU

    def problems(self) -> list[tuple[str, object, str]]:
        """(flag, value, reason) for every setting that cannot run."""
        found = []
        if self.epochs < 0:
            found.append(("--torch-epochs", self.epochs, "must be 0 or more"))
        if self.batch_size < 1:
            found.append(("--torch-batch-size", self.batch_size, "must be at least 1"))
        if self.infer_batch_size < 1:
            found.append(("--torch-infer-batch-size", self.infer_batch_size, "must be at least 1"))
        if not self.learning_rate > 0:
            found.append(("--torch-learning-rate", self.learning_rate, "must be positive"))
        if self.weight_decay < 0:
            found.append(("--torch-weight-decay", self.weight_decay, "must be 0 or more"))
        if self.optimizer not in OPTIMIZERS:
            found.append(("--torch-optimizer", self.optimizer, f"unknown (known: {', '.join(OPTIMIZERS)})"))
        if self.grad_clip_algorithm not in CLIP_ALGORITHMS:
            found.append(("--torch-grad-clip-algorithm", self.grad_clip_algorithm,
                          f"unknown (known: {', '.join(CLIP_ALGORITHMS)})"))
        if self.loss_mode not in LOSS_MODES:
            found.append(("--torch-loss-mode", self.loss_mode, f"unknown (known: {', '.join(LOSS_MODES)})"))
        if self.scheduler not in SCHEDULERS:
            found.append(("--torch-scheduler", self.scheduler, f"unknown (known: {', '.join(SCHEDULERS)})"))
        if self.warmup_epochs < 0:
            found.append(("--torch-lr-warmup-epochs", self.warmup_epochs, "must be 0 or more"))
        if not 0 <= self.min_lr_ratio <= 1:
            found.append(("--torch-lr-min-ratio", self.min_lr_ratio, "must be within [0, 1]"))
        if not all(0 <= beta < 1 for beta in self.betas):
            found.append(("--torch-betas", " ".join(f"{beta:g}" for beta in self.betas), "each must be within [0, 1)"))
        if self.grad_norm_log_freq < 1:
            found.append(("--torch-grad-norm-log-freq", self.grad_norm_log_freq, "must be at least 1"))
        if self.collapse_patience < 0:
            found.append(("--collapse-patience", self.collapse_patience, "must be 0 or more"))
        return found

    def as_dict(self) -> dict:
        return asdict(self)
