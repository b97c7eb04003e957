"""Run the Lightning trainer as a library: quiet, no files outside the run folder, state restored."""

from __future__ import annotations

import logging
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ..models.memory_format import convolutions_to_channels_last
from .batches import ShuffledBatches, TrainingData
from .checkpoint import Checkpointer, restore_random_states
from .config import TrainConfig
from .history import History
from .interrupt import StopRequest, stop_request
from .module import PtychoTrainingModule
from .seeding import torch_state

LIGHTNING_LOGGERS = ("lightning", "lightning.pytorch", "lightning.fabric", "pytorch_lightning")


@contextmanager
def quiet_lightning():
    loggers = [logging.getLogger(name) for name in LIGHTNING_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        warnings.filterwarnings("ignore", message=".*smaller than the logging interval.*")
        warnings.filterwarnings("ignore", message=".*`training_step` returned `None`.*")
        warnings.filterwarnings("ignore", message=".*LeafSpec.*")
        warnings.filterwarnings("ignore", message=".*lr_scheduler.step\\(\\)` before `optimizer.step\\(\\)`.*")
        try:
            yield
        finally:
            for logger, level in zip(loggers, levels):
                logger.setLevel(level)


def accelerator_for(device: torch.device) -> tuple[str, list[int] | int]:
    if device.type == "cuda":
        return "cuda", [device.index or 0]
    return "cpu", 1


def fit(generator: torch.nn.Module, data: TrainingData, config: TrainConfig, *, device: str | torch.device = "cpu",
        root_dir: str | Path | None = None, threads: int | None = None,
        progress: Callable[[str], None] | None = None,
        epoch_evaluator: Callable[[np.ndarray], dict] | None = None,
        checkpointer: Checkpointer | None = None, resume: dict | None = None,
        stop: StopRequest | None = None) -> History:
    """Train `generator` in place and return its History. The caller seeds (see `seeded`).

    epoch_evaluator(object_patches) → extra per-epoch metrics (e.g. amp_ssim of the stitched
    reconstruction). The final epoch's test predictions are kept in `history.last_object_patches`.
    checkpointer writes the run's checkpoints; resume is a checkpoint's state to continue from; a
    request on `stop` (default: the process's signal-driven one) ends training after the current step
    with a checkpoint and RunInterrupted.
    """
    import lightning as L
    from lightning.pytorch.utilities.exceptions import SIGTERMException

    stop = stop_request if stop is None else stop
    device = torch.device(device)
    accelerator, devices = accelerator_for(device)
    if config.channels_last:
        convolutions_to_channels_last(generator)
    batches = ShuffledBatches(data.train_x, config.batch_size, config.seed)
    history = History()
    if resume is not None:
        generator.load_state_dict(resume["generator"])
        history = History(**resume["history"])
        batches.resume_at(resume["batches_state"], resume["position"][1])
        restore_random_states(resume["random"])
    module = PtychoTrainingModule(generator, data, config, history, batches, progress, epoch_evaluator,
                                  checkpointer=checkpointer, stop=stop, resume=resume)
    epochs_left = config.epochs - module.position[0]
    if epochs_left <= 0 or history.stop_reason is not None:
        return history
    with quiet_lightning(), torch_state(threads=threads, deterministic=device.type == "cpu"):
        trainer = L.Trainer(
            accelerator=accelerator, devices=devices, max_epochs=epochs_left, logger=False,
            enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
            num_sanity_val_steps=0, limit_val_batches=0, default_root_dir=str(root_dir) if root_dir else None,
        )
        try:
            trainer.fit(module, train_dataloaders=batches)
        except SIGTERMException:  # Lightning's own SIGTERM stop, after a completed step: the same as ours
            if stop is not None:
                stop.request("SIGTERM")
            raise module.interrupt() from None
    history.last_object_patches = module.last_object_patches
    return history
