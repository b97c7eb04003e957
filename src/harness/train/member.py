"""One run inside a (seed-batched) training: what the Lightning module, the callbacks and the trainer all need
to know of it, in a module of its own so that none of them imports another for it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .checkpoint import Checkpointer
from .history import History


@dataclass
class Member:
    """One run of a (seed-batched) training: its seed, and what it reports to, evaluates with, writes
    checkpoints through and resumes from. A group trains K members; a single run is one member."""

    seed: int
    progress: Callable[[str], None] | None = None
    epoch_evaluator: Callable[[np.ndarray], dict] | None = None   # object patches → extra per-epoch metrics
    checkpointer: Checkpointer | None = None
    resume: dict | None = None                                     # a checkpoint's state to continue from
    history: History = field(default_factory=History)
