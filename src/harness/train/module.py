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
from typing import Callable

import lightning as L
import numpy as np
import torch

from ..models.members import member_state_dict, member_view
from ..physics import predicted_amplitude
from ..verdict import COLLAPSE_CV
from .batches import GroupBatches, TrainingData
from .checkpoint import Checkpointer, random_states
from .clipping import clip_gradients_, global_grad_norm, mark_unit_axes
from .config import TrainConfig
from .history import History
from .interrupt import RunInterrupted, StopRequest
from .losses import NORMALISER_EPS, amplitude_loss, amplitude_loss_terms
from .optimizers import build_optimizer
from .plain_step import autocast
from .schedulers import build_scheduler, step_scheduler
from .validation import validation_pass


def epoch_line(record: dict, epochs: int, evaluated: dict) -> str:
    evaluated_text = "".join(f"  {key} {value:.3f}" for key, value in evaluated.items())
    return (f"epoch {record['epoch'] + 1}/{epochs}  train {record['train_loss']:.4g}  val {record['val_loss']:.4g}"
            f"{evaluated_text}  lr {record['lr']:.3g}  amp std/mean {record['amp_cv']:.3g}  ({record['wall_s']:.1f} s)")


def member_optimizer_state(state: dict, parameters: list[torch.Tensor], member: int, members: int) -> dict:
    """Member k's share of a stacked model's optimizer state: what a single run's optimizer would hold."""
    def part(index, value):
        if torch.is_tensor(value) and value.ndim > 0 and value.shape == parameters[index].shape:
            return member_view(value, members)[member].clone()
        return value
    return {"state": {index: {name: part(index, value) for name, value in entry.items()}
                      for index, entry in state["state"].items()},
            "param_groups": state["param_groups"]}


def stacked_optimizer_state(states: list[dict]) -> dict:
    """The members' single-run optimizer states stacked (the inverse of member_optimizer_state)."""
    first = states[0]

    def joined(index, name):
        values = [state["state"][index][name] for state in states]
        return torch.cat(values) if torch.is_tensor(values[0]) and values[0].ndim > 0 else values[0]
    return {"state": {index: {name: joined(index, name) for name in entry} for index, entry in first["state"].items()},
            "param_groups": first["param_groups"]}


class PtychoTrainingModule(L.LightningModule):
    """Manual optimisation, so the non-finite guard and the clipping sit exactly where SPEC §5 puts them:
    backward → global norm (guard) → clip → step; a non-finite loss or gradient stops before the step.

    Per member (lists of length K): histories, progress callbacks, epoch evaluators, checkpointers and
    the checkpoint states to resume from.
    """

    def __init__(self, generator: torch.nn.Module, data: TrainingData, config: TrainConfig,
                 histories: list[History], batches: GroupBatches, progress: list[Callable[[str], None] | None],
                 epoch_evaluators: list[Callable[[np.ndarray], dict] | None],
                 checkpointers: list[Checkpointer | None], stop: StopRequest | None = None,
                 resume: list[dict] | None = None,
                 on_step: Callable[[int, int, int, int, float], None] | None = None):
        super().__init__()
        self.generator = generator
        self.data = data
        self.config = config
        self.members = len(histories)
        self.histories = histories
        self.batches = batches
        self.progress = progress
        self.epoch_evaluators = epoch_evaluators
        self.checkpointers = checkpointers
        self.stop = stop
        self.on_step = on_step  # (epoch, epochs, steps done in the epoch, steps per epoch, loss) after each step
        self.last_object_patches: list[np.ndarray | None] = [None] * self.members  # latest validation predictions
        self.automatic_optimization = False
        self.scheduler = None
        mark_unit_axes(generator)
        self._parameters_list = [p for p in generator.parameters() if p.requires_grad]
        self._collapsed_streaks = [0] * self.members if resume is None else [s["collapsed_streak"] for s in resume]
        # a member trains until it stops (non-finite, collapsed); one that stopped before keeps its weights
        self.active = [history.stop_reason is None for history in histories]
        self._recording = list(self.active)
        self._frozen: dict[int, list[torch.Tensor]] = {}
        # Where the run stands: (epoch, batches of it consumed); a resumed run starts where its checkpoint was.
        self.position = (0, 0) if resume is None else tuple(resume[0]["position"])
        self.epoch_offset = self.position[0]
        self._resume = resume

    @property
    def epoch(self) -> int:
        """The run's 0-based epoch (the trainer's count starts again at 0 in a resumed run)."""
        return self.epoch_offset + self.current_epoch

    def forward(self, diffraction: torch.Tensor) -> torch.Tensor:
        return self.generator(diffraction)

    def configure_optimizers(self):
        config = self.config
        optimizer = build_optimizer(self._parameters_list, config.optimizer, lr=config.learning_rate,
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
        partials = [state.get("epoch_partial") for state in self._resume] if self._resume is not None else None
        self._resume = None
        if partials is not None and partials[0] is not None:  # the interrupted epoch goes on with what it had
            self._epoch_lr = partials[0]["lr"]
            self._epoch_loss = torch.stack([p["loss"].reshape(()) for p in partials]).to(self.device)
            self._epoch_steps = [p["steps"] for p in partials]
            self._epoch_started = time.perf_counter() - partials[0]["train_s"]
            return
        self._epoch_lr = self.optimizers().param_groups[0]["lr"]
        self._epoch_loss = torch.zeros(self.members, dtype=torch.float64, device=self.device)
        self._epoch_steps = [0] * self.members
        self._epoch_started = time.perf_counter()
        self.position = (self.epoch, 0)

    # --- checkpoints --------------------------------------------------------------------------------

    def training_state(self, member: int = 0) -> dict:
        """Everything the rest of member k's run depends on, at the current position, in a single run's
        form (see checkpoint.py): a member's checkpoint is the one its single run would write."""
        epoch, batches_done = self.position
        members, optimizer = self.members, self.optimizers().optimizer
        single = members == 1
        batches = self.batches.members[member]
        state = {
            "position": [epoch, batches_done],
            "generator": self.generator.state_dict() if single else member_state_dict(self.generator, member, members),
            "optimizer": optimizer.state_dict() if single else
            member_optimizer_state(optimizer.state_dict(), self._parameters_list, member, members),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            # mid-epoch: the state the epoch's order was drawn from; at an epoch boundary: the next draw's
            "batches_state": batches.epoch_start_state if batches_done else batches.generator.get_state(),
            "random": random_states(),
            "history": self.histories[member].as_dict(),
            "collapsed_streak": self._collapsed_streaks[member],
            "epoch_partial": None,
        }
        if batches_done:
            state["epoch_partial"] = {"lr": self._epoch_lr, "loss": self._epoch_loss[member].detach().cpu(),
                                      "steps": self._epoch_steps[member],
                                      "train_s": time.perf_counter() - self._epoch_started}
        return state

    def write_checkpoints(self) -> list:
        return [checkpointer.write(self.training_state(member)) if checkpointer is not None else None
                for member, checkpointer in enumerate(self.checkpointers)]

    def interrupt(self) -> RunInterrupted:
        """Write every member's checkpoint at the current position and say so."""
        paths = self.write_checkpoints()
        return RunInterrupted(self.stop.reason if self.stop is not None else "request", paths[0], self.position)

    def _stop_requested(self) -> bool:
        return self.stop is not None and self.stop.requested and any(self.active)

    # --- members that stop ----------------------------------------------------------------------------

    def _freeze(self, member: int) -> None:
        """Keep member k's weights as they are now: the others' steps must not move them (Adam's momentum would)."""
        self._frozen[member] = [member_view(p.detach(), self.members)[member].clone() for p in self._parameters_list]

    @torch.no_grad()
    def _restore_frozen(self) -> None:
        for member, saved in self._frozen.items():
            for parameter, value in zip(self._parameters_list, saved):
                member_view(parameter, self.members)[member].copy_(value)

    def _active_mask(self) -> torch.Tensor:
        """The active members as a (K,) bool tensor on the device (remade only when a member stops)."""
        if getattr(self, "_mask", None) is None or self._mask[0] != self.active:
            self._mask = (list(self.active), torch.tensor(self.active, device=self.device))
        return self._mask[1]

    def _stop_member(self, member: int, reason: str) -> None:
        self.histories[member].stop_reason = reason
        self.active[member] = False
        if self.members > 1:
            self._freeze(member)
        if not any(self.active):
            self.trainer.should_stop = True

    # --- training -------------------------------------------------------------------------------------

    def _member_losses(self, object_patch: torch.Tensor, batch: torch.Tensor) -> torch.Tensor:
        """(K,) losses: member k's relative error on its own batch (channel k), normalised by its own mean X."""
        amplitude = predicted_amplitude(object_patch, self.data.probe)
        if self.members == 1:
            return amplitude_loss(amplitude, batch[:, 0], self.config.loss_mode).reshape(1)
        terms = amplitude_loss_terms(amplitude, batch, self.config.loss_mode)
        return terms.mean(dim=(0, 2, 3)) / (batch.detach().mean(dim=(0, 2, 3)) + NORMALISER_EPS)

    def training_step(self, batch: torch.Tensor, batch_index: int):
        if not any(self.active):
            return None
        config, members = self.config, self.members
        optimizer = self.optimizers()
        optimizer.zero_grad(set_to_none=True)
        with autocast(config.bf16_autocast, batch.device):
            object_patch = self.generator(batch)
        losses = self._member_losses(object_patch, batch)
        self.manual_backward(losses.sum() if all(self.active) else torch.where(self._active_mask(), losses, 0).sum())
        pre_norm = global_grad_norm(self._parameters_list)
        # Clipping runs before the guard's verdict is read, so that the loss and both norms come back
        # in the step's one host sync; a non-finite step is never taken, so its clipped gradients are unused.
        clip_gradients_(self._parameters_list, config.grad_clip_algorithm, config.grad_clip, pre_norm)
        step = next(self.histories[k].steps_done for k in range(members) if self.active[k])
        logged = config.log_grad_norm and step % config.grad_norm_log_freq == 0
        post_norm = global_grad_norm(self._parameters_list) if logged and config.grad_clip > 0 else pre_norm
        loss_values, pre_values, post_values = torch.stack(
            [losses.detach().float(), pre_norm.float().reshape(members), post_norm.float().reshape(members)]
        ).tolist()  # the one host sync
        for member in range(members):
            loss_finite, grad_finite = math.isfinite(loss_values[member]), math.isfinite(pre_values[member])
            if self.active[member] and not (loss_finite and grad_finite):
                self.histories[member].nonfinite = {"step": step, "epoch": self.epoch,
                                                    "what": "loss" if not loss_finite else "gradient"}
                self._stop_member(member, "nonfinite")
        if not any(self.active):  # nobody steps: the non-finite step is never taken
            optimizer.zero_grad(set_to_none=True)
            return None
        stepping = [member for member in range(members) if self.active[member]]
        for member in stepping:
            if logged:
                self.histories[member].steps.append({"step": step, "epoch": self.epoch, "loss": loss_values[member],
                                                     "grad_norm_pre": pre_values[member],
                                                     "grad_norm_post": post_values[member]})
        optimizer.step()
        self._restore_frozen()
        taken = losses.detach() if len(stepping) == members else torch.where(self._active_mask(), losses.detach(), 0)
        self._epoch_loss += taken
        for member in stepping:
            self._epoch_steps[member] += 1
            self.histories[member].steps_done += 1
        self.position = (self.epoch, self.position[1] + 1)
        if self.on_step is not None:
            mean_loss = sum(loss_values[member] for member in stepping) / len(stepping)
            self.on_step(self.epoch, config.epochs, self.position[1], len(self.batches), mean_loss)
        if self._stop_requested():
            raise self.interrupt()
        return None

    def on_train_epoch_end(self) -> None:
        config, members = self.config, self.members
        epoch = self.epoch
        train_s = time.perf_counter() - self._epoch_started
        with autocast(config.bf16_autocast, self.data.test_x.device):
            validations = validation_pass(self.generator, self.data.probe, self.data.test_x, config.infer_batch_size,
                                          config.loss_mode, members=members)
        recorded = [member for member in range(members) if self._recording[member]]
        for member in recorded:
            self._record_epoch(member, epoch, validations[member], train_s)
            self._recording[member] = self.active[member]
        step_scheduler(self.scheduler, validations[0]["val_loss"])  # ReduceLROnPlateau runs singly (members=1)
        for member in recorded:
            self.histories[member].final_lr = self.optimizers().param_groups[0]["lr"]
        self.position = (epoch + 1, 0)
        if self._stop_requested():
            raise self.interrupt()
        lead = self.checkpointers[0]
        if lead is not None and any(self.active) and epoch + 1 < config.epochs and lead.due():
            self.write_checkpoints()

    def _record_epoch(self, member: int, epoch: int, validation: dict, train_s: float) -> None:
        config, history = self.config, self.histories[member]
        self.last_object_patches[member] = validation.pop("object_patches")
        evaluator = self.epoch_evaluators[member]
        evaluated = evaluator(self.last_object_patches[member]) if evaluator else {}
        weights = self._parameters_list if self.members == 1 else [
            member_view(p, self.members)[member] for p in self._parameters_list]
        if history.nonfinite is None and not all(bool(torch.isfinite(p).all()) for p in weights):
            history.nonfinite = {"step": history.steps_done, "epoch": epoch, "what": "weight"}
            self._stop_member(member, "nonfinite")
        collapsed = validation["amp_cv"] < COLLAPSE_CV
        if collapsed and history.collapse_onset_epoch is None:
            history.collapse_onset_epoch = epoch
        self._collapsed_streaks[member] = self._collapsed_streaks[member] + 1 if collapsed else 0
        logged = [s for s in history.steps if s["epoch"] == epoch]
        steps = self._epoch_steps[member]
        record = {
            "epoch": epoch,
            "train_loss": float(self._epoch_loss[member].item() / steps) if steps else math.nan,
            "val_loss": validation["val_loss"],
            "val_fit_error": validation["val_fit_error"],
            "lr": self._epoch_lr,
            "amp_cv": validation["amp_cv"],
            "collapsed": collapsed,
            "steps": steps,
            "grad_norm_pre_mean": sum(s["grad_norm_pre"] for s in logged) / len(logged) if logged else None,
            "grad_norm_pre_max": max((s["grad_norm_pre"] for s in logged), default=None),
            "grad_norm_post_max": max((s["grad_norm_post"] for s in logged), default=None),
            **evaluated,
            "train_s": train_s,
            "wall_s": time.perf_counter() - self._epoch_started,
        }
        history.epochs.append(record)
        if self.progress[member] is not None:
            self.progress[member](epoch_line(record, config.epochs, evaluated))
        if config.collapse_patience and self._collapsed_streaks[member] >= config.collapse_patience \
                and history.stop_reason is None:
            self._stop_member(member, "collapsed")
