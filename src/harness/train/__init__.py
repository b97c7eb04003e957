"""Physics-informed training (SPEC §5): config → Lightning module → fit → history."""

from .batches import ShuffledBatches, TrainingData
from .clipping import adaptive_clip_grad_, clip_gradients_, global_grad_norm
from .config import TrainConfig
from .history import History
from .seeding import seeded, torch_state
from .trainer import fit

__all__ = [
    "History", "ShuffledBatches", "TrainConfig", "TrainingData", "adaptive_clip_grad_", "clip_gradients_", "fit",
    "global_grad_norm", "seeded", "torch_state",
]
