"""Run the Lightning trainer as a library: quiet, no files outside the run folder, state restored."""

from __future__ import annotations

import logging
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

import lightning as L
import numpy as np
import torch
from lightning.pytorch.plugins.environments import LightningEnvironment
from lightning.pytorch.utilities.exceptions import SIGTERMException

from ..models.members import mark_members
from ..models.memory_format import convolutions_to_channels_last
from .batches import GroupBatches, TrainingData
from .callbacks import CollapseStop, training_callbacks
from .checkpoint import Checkpointer, restore_members
from .config import TrainConfig
from .history import History
from .interrupt import StopRequest, stop_request
from .member import Member
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
        # Lightning's checkpoint connector probes for Slurm on every fit, even with the environment chosen
        # (it looks for its own "hpc" checkpoints, which we never write); on a login node with `srun` the
        # probe warns. Our runs are single-process: neither the probe nor the warning concerns them.
        warnings.filterwarnings("ignore", message=".*The `srun` command is available on your system.*")
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
        stop: StopRequest | None = None,
        on_step: Callable[[int, int, int, int, float], None] | None = None) -> History:
    """Train `generator` in place and return its History. The caller seeds (see `seeded`).

    epoch_evaluator(object_patches) → extra per-epoch metrics (e.g. amp_ssim of the stitched
    reconstruction). The final epoch's test predictions are kept in `history.last_object_patches`.
    checkpointer writes the run's checkpoints; resume is a checkpoint's state to continue from; a
    request on `stop` (default: the process's signal-driven one) ends training after the current step
    with a checkpoint and RunInterrupted. on_step(epoch, epochs, done, per_epoch, loss) follows every step.
    """
    member = Member(config.seed, progress, epoch_evaluator, checkpointer, resume)
    (history,) = fit_group(generator, data, config, [member], device=device, root_dir=root_dir, threads=threads,
                           stop=stop, on_step=on_step)
    return history


def fit_group(generator: torch.nn.Module, data: TrainingData, config: TrainConfig, members: list[Member], *,
              device: str | torch.device = "cpu", root_dir: str | Path | None = None, threads: int | None = None,
              stop: StopRequest | None = None,
              on_step: Callable[[int, int, int, int, float], None] | None = None) -> list[History]:
    """Train K members at once — a stacked generator (members=K, see models/members.py) or, for K=1, a
    single one — each with its own seed's data order. Returns the members' histories; member k's
    resumed state and checkpoints are exactly those of its single run.
    """
    count = len(members)
    stop = stop_request if stop is None else stop
    device = torch.device(device)
    accelerator, devices = accelerator_for(device)
    if config.channels_last:
        convolutions_to_channels_last(generator)
    if count > 1:
        mark_members(generator, count)  # clipping and the guard then work per member
    batches = GroupBatches(data.train_x, config.batch_size, [member.seed for member in members])
    resumed = restore_members(generator, members, batches)
    collapse_stop = CollapseStop(config.collapse_patience, [m.resume["collapsed_streak"] if m.resume else 0
                                                            for m in members])
    module = PtychoTrainingModule(generator, data, config, members, batches, collapse_stop, resumed=resumed)
    epochs_left = config.epochs - module.position[0]
    histories = [member.history for member in members]
    if epochs_left <= 0 or not any(module.active):
        return histories
    with quiet_lightning(), torch_state(threads=threads, deterministic=device.type == "cpu"):
        # One process, one device: the plain environment, chosen explicitly, so that inside a Slurm job Lightning
        # does not take over SIGTERM/SIGUSR1 for its own requeueing (ours is in interrupt.py).
        trainer = L.Trainer(
            accelerator=accelerator, devices=devices, max_epochs=epochs_left, logger=False,
            enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
            num_sanity_val_steps=0, limit_val_batches=0, default_root_dir=str(root_dir) if root_dir else None,
            plugins=[LightningEnvironment()], callbacks=training_callbacks(stop, on_step, collapse_stop),
        )
        try:
            trainer.fit(module, train_dataloaders=batches)
        except SIGTERMException:  # Lightning's own SIGTERM stop, after a completed step: the same as ours
            if stop is not None:
                stop.request("SIGTERM")
            raise module.interrupt("SIGTERM") from None
        except SystemExit:
            # Lightning answers a KeyboardInterrupt (our second Ctrl-C) with exit(1) after its teardown
            if stop is not None and stop.requested:
                raise KeyboardInterrupt from None
            raise
        finally:
            # Lightning's teardown moves the module to the CPU; evaluation and inference follow on the device.
            generator.to(device)
    for history, patches in zip(histories, module.last_object_patches):
        history.last_object_patches = patches
    return histories
