"""The physics-informed LightningModule: predict O, push it through the shared forward model, fit X.

One module trains K members at once (seed-batched training): K = 1 is a single run; K > 1 trains a
stacked generator (models/members.py) whose member k sees its own batches (channel k of the input)
and has its own loss, clipping, non-finite guard, collapse stop, history and checkpoint. Everything
the members share is elementwise (Adam, the schedule), so each member is the run it replaces; a
member that stops keeps its weights while the others go on.
"""

from __future__ import annotations

import math
import time

import lightning as L
import numpy as np
import torch
from lightning.pytorch.core.optimizer import LightningOptimizer

from ..models.members import member_view, stacked_optimizer_state
from .batches import GroupBatches, TrainingData
from .callbacks import CollapseStop
from .checkpoint import write_checkpoints
from .clipping import mark_unit_axes
from .config import TrainConfig
from .interrupt import RunInterrupted
from .member import Member
from .optimizers import build_optimizer
from .schedulers import build_scheduler
from .step import backward_and_clip


class PtychoTrainingModule(L.LightningModule):
    """The training step. Manual optimisation, so the non-finite guard and the clipping sit exactly where
    the protocol puts them: backward → global norm (guard) → clip → step; a non-finite loss or gradient stops
    that member before the step. What happens between steps and at epoch ends (validation and epoch
    records, progress, checkpoints, stop requests) is in callbacks.py.
    """

    def __init__(self, generator: torch.nn.Module, data: TrainingData, config: TrainConfig, runs: list[Member],
                 batches: GroupBatches, collapse_stop: CollapseStop, resumed: bool = False):
        super().__init__()
        self.generator = generator
        self.data = data
        self.config = config
        self.runs = runs
        self.members = len(runs)
        self.batches = batches
        self.last_object_patches: list[np.ndarray | None] = [None] * self.members  # latest validation predictions
        self.last_step: tuple[int, int, float] | None = None   # (epoch, steps done in it, mean loss) of a taken step
        self.automatic_optimization = False
        self.scheduler = None
        mark_unit_axes(generator)
        self.trained_parameters: list[torch.Tensor] = [p for p in generator.parameters() if p.requires_grad]
        resume = [run.resume for run in runs if run.resume is not None] if resumed else None
        self.collapse_stop = collapse_stop   # its streaks go into the checkpoints
        # a member trains until it stops (non-finite, collapsed); one that stopped before keeps its weights
        self.active = [run.history.stop_reason is None for run in runs]
        self.recording = list(self.active)
        self._frozen: dict[int, list[torch.Tensor]] = {}
        self._mask: tuple[list[bool], torch.Tensor] | None = None   # the active members as a tensor
        # Where the run stands: (epoch, batches of it consumed); a resumed run starts where its checkpoint was.
        self.position = (0, 0) if resume is None else tuple(resume[0]["position"])
        self.epoch_offset = self.position[0]
        self._resume = resume

    @property
    def epoch(self) -> int:
        """The run's 0-based epoch (the trainer's count starts again at 0 in a resumed run)."""
        return self.epoch_offset + self.current_epoch

    @property
    def optimizer(self) -> LightningOptimizer:
        """The one optimizer (configure_optimizers returns one)."""
        optimizer = self.optimizers()
        assert isinstance(optimizer, LightningOptimizer)
        return optimizer

    def forward(self, diffraction: torch.Tensor) -> torch.Tensor:
        return self.generator(diffraction)

    def configure_optimizers(self):
        config = self.config
        optimizer = build_optimizer(self.trained_parameters, config.optimizer, lr=config.learning_rate,
                                    weight_decay=config.weight_decay, betas=config.betas)
        self.scheduler = build_scheduler(optimizer, config.scheduler, epochs=config.epochs,
                                         warmup_epochs=config.warmup_epochs, min_lr_ratio=config.min_lr_ratio)
        if self._resume is not None:
            states = [state["optimizer"] for state in self._resume]
            optimizer.load_state_dict(states[0] if self.members == 1 else stacked_optimizer_state(states))
            if self.scheduler is not None:
                self.scheduler.load_state_dict(self._resume[0]["scheduler"])
        for member in range(self.members):  # members that stopped before the checkpoint stay as they were
            if not self.active[member] and self.members > 1:
                self._freeze(member)
        return optimizer

    def on_train_epoch_start(self) -> None:
        self.recording = list(self.active)   # a member records the epoch in which it stops, then no more
        # the members resume at one position: mid-epoch, each has its partial epoch
        partials = [state["epoch_partial"] for state in self._resume or [] if state.get("epoch_partial") is not None]
        self._resume = None
        if partials:  # the interrupted epoch goes on with what it had
            self.epoch_lr = partials[0]["lr"]
            self.epoch_loss = torch.stack([p["loss"].reshape(()) for p in partials]).to(self.device)
            self.epoch_steps = [p["steps"] for p in partials]
            self.epoch_started = time.perf_counter() - partials[0]["train_s"]
            return
        self.epoch_lr = self.optimizer.param_groups[0]["lr"]
        self.epoch_loss = torch.zeros(self.members, dtype=torch.float64, device=self.device)
        self.epoch_steps = [0] * self.members
        self.epoch_started = time.perf_counter()
        self.position = (self.epoch, 0)

    # --- checkpoints --------------------------------------------------------------------------------

    def interrupt(self, reason: str) -> RunInterrupted:
        """Write every member's checkpoint at the current position and say so (a checkpoint that cannot be
        written, e.g. on a full disk, is said too: the stop stays a stop, exit status 75)."""
        try:
            paths = write_checkpoints(self)
        except OSError as exc:
            return RunInterrupted(reason, None, self.position, unsaved=f"no checkpoint ({exc})")
        return RunInterrupted(reason, paths[0], self.position)

    # --- members that stop ----------------------------------------------------------------------------

    def _freeze(self, member: int) -> None:
        """Keep member k's weights as they are now: the others' steps must not move them (Adam's momentum would)."""
        self._frozen[member] = [member_view(p.detach(), self.members)[member].clone() for p in self.trained_parameters]

    @torch.no_grad()
    def _restore_frozen(self) -> None:
        for member, saved in self._frozen.items():
            for parameter, value in zip(self.trained_parameters, saved):
                member_view(parameter, self.members)[member].copy_(value)

    def _active_mask(self) -> torch.Tensor:
        """The active members as a (K,) bool tensor on the device (remade only when a member stops)."""
        if self._mask is None or self._mask[0] != self.active:
            self._mask = (list(self.active), torch.tensor(self.active, device=self.device))
        return self._mask[1]

    def stop_member(self, member: int, reason: str) -> None:
        self.runs[member].history.stop_reason = reason
        self.active[member] = False
        if self.members > 1:
            self._freeze(member)
        if not any(self.active):
            self.trainer.should_stop = True

    # --- training -------------------------------------------------------------------------------------

    def training_step(self, batch: torch.Tensor, batch_index: int):
        self.last_step = None
        if not any(self.active):
            return None
        config, members = self.config, self.members
        optimizer = self.optimizer
        optimizer.zero_grad(set_to_none=True)
        step = next(self.runs[k].history.steps_done for k in range(members) if self.active[k])
        logged = config.log_grad_norm and step % config.grad_norm_log_freq == 0
        losses, loss_values, pre_values, post_values = backward_and_clip(
            self.generator, self.trained_parameters, batch, self.data.probe, loss_mode=config.loss_mode,
            clip_algorithm=config.grad_clip_algorithm, clip_value=config.grad_clip, members=members,
            active=None if all(self.active) else self._active_mask(), log_post_norm=logged,
            bf16=config.bf16_autocast, backward=self.manual_backward)
        for member in range(members):
            loss_finite, grad_finite = math.isfinite(loss_values[member]), math.isfinite(pre_values[member])
            if self.active[member] and not (loss_finite and grad_finite):
                self.runs[member].history.nonfinite = {"step": step, "epoch": self.epoch,
                                                       "what": "loss" if not loss_finite else "gradient"}
                self.stop_member(member, "nonfinite")
        if not any(self.active):  # nobody steps: the non-finite step is never taken
            optimizer.zero_grad(set_to_none=True)
            return None
        stepping = [member for member in range(members) if self.active[member]]
        for member in stepping:
            if logged:
                self.runs[member].history.steps.append({"step": step, "epoch": self.epoch, "loss": loss_values[member],
                                                     "grad_norm_pre": pre_values[member],
                                                     "grad_norm_post": post_values[member]})
        optimizer.step()
        self._restore_frozen()
        taken = losses.detach() if len(stepping) == members else torch.where(self._active_mask(), losses.detach(), 0)
        self.epoch_loss += taken
        for member in stepping:
            self.epoch_steps[member] += 1
            self.runs[member].history.steps_done += 1
        self.position = (self.epoch, self.position[1] + 1)
        self.last_step = (self.epoch, self.position[1], sum(loss_values[member] for member in stepping) / len(stepping))
        return None
