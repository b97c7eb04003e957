"""Physics-informed training: config → Lightning module → fit → history."""

from typing import Any

from ..exports import LazyExports

_EXPORTS = LazyExports(__name__, {
    "ShuffledBatches": ".batches", "TrainingData": ".batches",
    "adaptive_clip_grad_": ".clipping", "clip_gradients_": ".clipping", "global_grad_norm": ".clipping",
    "TrainConfig": ".config", "History": ".history", "seeded": ".seeding", "torch_state": ".seeding",
    "fit": ".trainer",
})
__all__ = _EXPORTS.names


def __getattr__(name: str) -> Any:
    return _EXPORTS.load(name)
