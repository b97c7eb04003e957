"""Training settings as one typed dataclass; the names it holds select from the registries in optimizers.py,
clipping.py, losses.py and schedulers.py (checked where settings become configurations, run/configure.py)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


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

    def as_dict(self) -> dict:
        return asdict(self)
