"""What happens between training steps and at epoch ends, as Lightning callbacks around the module's
step: the validation pass and each member's epoch record, the collapse stop, progress lines, stop requests
(a checkpoint, then RunInterrupted) and periodic checkpoints. Lightning calls them in training_callbacks' order."""

from __future__ import annotations

import math
import time
from typing import Callable

import lightning as L
import torch

from ..evaluate.metrics import COLLAPSE_CV
from ..models.members import member_view
from .checkpoint import write_checkpoints
from .interrupt import StopRequest
from .schedulers import step_scheduler
from .step import autocast
from .validation import validation_pass


def epoch_line(record: dict, epochs: int, evaluated: dict) -> str:
    evaluated_text = "".join(f"  {key} {value:.3f}" for key, value in evaluated.items())
    return (f"epoch {record['epoch'] + 1}/{epochs}  train {record['train_loss']:.4g}  val {record['val_loss']:.4g}"
            f"{evaluated_text}  lr {record['lr']:.3g}  amp std/mean {record['amp_cv']:.3g}  ({record['wall_s']:.1f} s)")


class EpochRecords(L.Callback):
    """At each epoch's end: validate every member, append its epoch record (and progress line), stop a
    member whose weights turned non-finite, and step the schedule."""

    def on_train_epoch_end(self, trainer, module) -> None:
        config, members = module.config, module.members
        epoch = module.epoch
        train_s = time.perf_counter() - module.epoch_started
        with autocast(config.bf16_autocast, module.data.test_x.device):
            validations = validation_pass(module.generator, module.data.probe, module.data.test_x,
                                          config.infer_batch_size, config.loss_mode, members=members)
        recorded = [member for member in range(members) if module.recording[member]]
        for member in recorded:
            self._record_epoch(module, member, epoch, validations[member], train_s)
        step_scheduler(module.scheduler, validations[0]["val_loss"])  # ReduceLROnPlateau runs singly (members=1)
        for member in recorded:
            module.runs[member].history.final_lr = module.optimizer.param_groups[0]["lr"]
        module.position = (epoch + 1, 0)

    @staticmethod
    def _record_epoch(module, member: int, epoch: int, validation: dict, train_s: float) -> None:
        config, run = module.config, module.runs[member]
        history = run.history
        module.last_object_patches[member] = validation.pop("object_patches")
        evaluated = run.epoch_evaluator(module.last_object_patches[member]) if run.epoch_evaluator else {}
        parameters = module.trained_parameters
        weights = parameters if module.members == 1 else [member_view(p, module.members)[member] for p in parameters]
        if history.nonfinite is None and not all(bool(torch.isfinite(p).all()) for p in weights):
            history.nonfinite = {"step": history.steps_done, "epoch": epoch, "what": "weight"}
            module.stop_member(member, "nonfinite")
        collapsed = validation["amp_cv"] < COLLAPSE_CV
        if collapsed and history.collapse_onset_epoch is None:
            history.collapse_onset_epoch = epoch
        logged = [s for s in history.steps if s["epoch"] == epoch]
        steps = module.epoch_steps[member]
        record = {
            "epoch": epoch,
            "train_loss": float(module.epoch_loss[member].item() / steps) if steps else math.nan,
            "val_loss": validation["val_loss"],
            "val_fit_error": validation["val_fit_error"],
            "lr": module.epoch_lr,
            "amp_cv": validation["amp_cv"],
            "collapsed": collapsed,
            "steps": steps,
            "grad_norm_pre_mean": sum(s["grad_norm_pre"] for s in logged) / len(logged) if logged else None,
            "grad_norm_pre_max": max((s["grad_norm_pre"] for s in logged), default=None),
            "grad_norm_post_max": max((s["grad_norm_post"] for s in logged), default=None),
            **evaluated,
            "train_s": train_s,
            "wall_s": time.perf_counter() - module.epoch_started,
        }
        history.epochs.append(record)
        if run.progress is not None:
            run.progress(epoch_line(record, config.epochs, evaluated))


class CollapseStop(L.Callback):
    """Stops a member after `patience` collapsed epochs in a row (0: never). It owns the streaks, which each
    member's checkpoint saves (`collapsed_streak`), so that a resumed run stops where the whole one would."""

    def __init__(self, patience: int, streaks: list[int]):
        self.patience = patience
        self.streaks = list(streaks)

    def state_dict(self) -> dict:
        return {"streaks": list(self.streaks)}

    def load_state_dict(self, state_dict: dict) -> None:
        self.streaks = list(state_dict["streaks"])

    def on_train_epoch_end(self, trainer, module) -> None:
        for member, run in enumerate(module.runs):
            epochs = run.history.epochs
            if not epochs or epochs[-1]["epoch"] != module.epoch:
                continue   # no record this epoch: the member stopped before it
            self.streaks[member] = self.streaks[member] + 1 if epochs[-1]["collapsed"] else 0
            if self.patience and self.streaks[member] >= self.patience and run.history.stop_reason is None:
                module.stop_member(member, "collapsed")


class StepProgress(L.Callback):
    """on_step(epoch, epochs, steps done in the epoch, steps per epoch, mean loss) after every step taken."""

    def __init__(self, on_step: Callable[[int, int, int, int, float], None]):
        self.on_step = on_step

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_index) -> None:
        if module.last_step is not None:
            epoch, done, loss = module.last_step
            self.on_step(epoch, module.config.epochs, done, len(module.batches), loss)


class StopOnRequest(L.Callback):
    """A stop request (SIGTERM, SIGINT) ends training at the next safe point — after a step, or after an
    epoch's records — with every member's checkpoint written and RunInterrupted raised."""

    def __init__(self, stop: StopRequest | None):
        self.stop = stop

    def _check(self, module) -> None:
        if self.stop is not None and self.stop.requested and any(module.active):
            raise module.interrupt(self.stop.reason)

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_index) -> None:
        if module.last_step is not None:
            self._check(module)

    def on_train_epoch_end(self, trainer, module) -> None:
        self._check(module)


class EpochCheckpoints(L.Callback):
    """A checkpoint of every member at an epoch's end when the policy says one is due (not after the last)."""

    def on_train_epoch_end(self, trainer, module) -> None:
        lead = module.runs[0].checkpointer
        if lead is not None and any(module.active) and module.position[0] < module.config.epochs and lead.due():
            write_checkpoints(module)


def training_callbacks(stop: StopRequest | None, on_step: Callable | None, collapse_stop: CollapseStop) -> list[L.Callback]:
    """In the order Lightning calls them: an epoch is recorded before the collapse stop reads it, and both come
    before a checkpoint of the epoch's end."""
    return [EpochRecords(), collapse_stop, *([StepProgress(on_step)] if on_step is not None else []),
            StopOnRequest(stop), EpochCheckpoints()]
