"""The physics-informed LightningModule: predict O, push it through the shared forward model, fit X."""

from __future__ import annotations

import math
import time
from typing import Callable

import lightning as L
import numpy as np
import torch

from ..physics import predicted_amplitude
from ..verdict import COLLAPSE_CV
from .batches import ShuffledBatches, TrainingData
from .checkpoint import Checkpointer, random_states
from .clipping import clip_gradients_, global_grad_norm, mark_unit_axes
from .config import TrainConfig
from .history import History
from .interrupt import RunInterrupted, StopRequest
from .losses import amplitude_loss
from .optimizers import build_optimizer
from .schedulers import build_scheduler, step_scheduler
from .validation import validation_pass


def autocast(enabled: bool, device: torch.device):
    """bfloat16 autocast for the convolutions when asked; SpectralConv2d computes its FFTs in float32."""
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=enabled)


class PtychoTrainingModule(L.LightningModule):
    """Manual optimisation, so the non-finite guard and the clipping sit exactly where SPEC §5 puts them:
    backward → global norm (guard) → clip → step; a non-finite loss or gradient stops before the step.
    """

    def __init__(self, generator: torch.nn.Module, data: TrainingData, config: TrainConfig, history: History,
                 batches: ShuffledBatches, progress: Callable[[str], None] | None = None,
                 epoch_evaluator: Callable[[np.ndarray], dict] | None = None,
                 checkpointer: Checkpointer | None = None, stop: StopRequest | None = None,
                 resume: dict | None = None):
        super().__init__()
        self.generator = generator
        self.data = data
        self.config = config
        self.history = history
        self.batches = batches
        self.progress = progress
        self.epoch_evaluator = epoch_evaluator
        self.checkpointer = checkpointer
        self.stop = stop
        self.last_object_patches: np.ndarray | None = None  # the latest validation predictions
        self.automatic_optimization = False
        self.scheduler = None
        mark_unit_axes(generator)
        self._parameters_list = [p for p in generator.parameters() if p.requires_grad]
        self._collapsed_streak = 0 if resume is None else resume["collapsed_streak"]
        # Where the run stands: (epoch, batches of it consumed); a resumed run starts where its checkpoint was.
        self.position = (0, 0) if resume is None else tuple(resume["position"])
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
            optimizer.load_state_dict(self._resume["optimizer"])
            if self.scheduler is not None:
                self.scheduler.load_state_dict(self._resume["scheduler"])
        return optimizer

    def on_train_epoch_start(self) -> None:
        partial = self._resume.get("epoch_partial") if self._resume is not None else None
        self._resume = None
        if partial is not None:  # the interrupted epoch goes on with what it had accumulated
            self._epoch_lr = partial["lr"]
            self._epoch_loss = partial["loss"].to(self.device)
            self._epoch_steps = partial["steps"]
            self._epoch_started = time.perf_counter() - partial["train_s"]
            return
        self._epoch_lr = self.optimizers().param_groups[0]["lr"]
        self._epoch_loss = torch.zeros((), dtype=torch.float64, device=self.device)
        self._epoch_steps = 0
        self._epoch_started = time.perf_counter()
        self.position = (self.epoch, 0)

    def training_state(self) -> dict:
        """Everything the rest of the run depends on, at the current position (see checkpoint.py)."""
        epoch, batches_done = self.position
        state = {
            "position": [epoch, batches_done],
            "generator": self.generator.state_dict(),
            "optimizer": self.optimizers().optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            # mid-epoch: the state the epoch's order was drawn from; at an epoch boundary: the next draw's
            "batches_state": self.batches.epoch_start_state if batches_done else self.batches.generator.get_state(),
            "random": random_states(),
            "history": self.history.as_dict(),
            "collapsed_streak": self._collapsed_streak,
            "epoch_partial": None,
        }
        if batches_done:
            state["epoch_partial"] = {"lr": self._epoch_lr, "loss": self._epoch_loss.detach().cpu(),
                                      "steps": self._epoch_steps,
                                      "train_s": time.perf_counter() - self._epoch_started}
        return state

    def interrupt(self) -> RunInterrupted:
        """Write a checkpoint at the current position and say so."""
        path = self.checkpointer.write(self.training_state()) if self.checkpointer is not None else None
        return RunInterrupted(self.stop.reason if self.stop is not None else "request", path, self.position)

    def _stop_requested(self) -> bool:
        return self.stop is not None and self.stop.requested and self.history.stop_reason is None

    def training_step(self, batch: torch.Tensor, batch_index: int):
        if self.history.stop_reason is not None:
            return None
        config, history = self.config, self.history
        optimizer = self.optimizers()
        optimizer.zero_grad(set_to_none=True)
        with autocast(config.bf16_autocast, batch.device):
            object_patch = self.generator(batch)
        loss = amplitude_loss(predicted_amplitude(object_patch, self.data.probe), batch[:, 0], config.loss_mode)
        self.manual_backward(loss)
        pre_norm = global_grad_norm(self._parameters_list)
        # Clipping runs before the guard's verdict is read, so that the loss and both norms come back
        # in the step's one host sync; a non-finite step is never taken, so its clipped gradients are unused.
        clip_gradients_(self._parameters_list, config.grad_clip_algorithm, config.grad_clip, pre_norm)
        step = history.steps_done
        logged = config.log_grad_norm and step % config.grad_norm_log_freq == 0
        post_norm = global_grad_norm(self._parameters_list) if logged and config.grad_clip > 0 else pre_norm
        loss_value, pre_value, post_value = torch.stack([loss.detach().float(), pre_norm.float(),
                                                         post_norm.float()]).tolist()  # the one host sync
        loss_finite, grad_finite = math.isfinite(loss_value), math.isfinite(pre_value)
        if not (loss_finite and grad_finite):
            history.nonfinite = {"step": step, "epoch": self.epoch, "what": "loss" if not loss_finite else "gradient"}
            history.stop_reason = "nonfinite"
            optimizer.zero_grad(set_to_none=True)
            self.trainer.should_stop = True
            return None
        if logged:
            history.steps.append({"step": step, "epoch": self.epoch, "loss": loss_value,
                                  "grad_norm_pre": pre_value, "grad_norm_post": post_value})
        optimizer.step()
        self._epoch_loss += loss.detach()
        self._epoch_steps += 1
        history.steps_done += 1
        self.position = (self.epoch, self.position[1] + 1)
        if self._stop_requested():
            raise self.interrupt()
        return None

    def on_train_epoch_end(self) -> None:
        config, history = self.config, self.history
        epoch = self.epoch
        train_s = time.perf_counter() - self._epoch_started
        with autocast(config.bf16_autocast, self.data.test_x.device):
            validation = validation_pass(self.generator, self.data.probe, self.data.test_x, config.infer_batch_size,
                                         config.loss_mode)
        self.last_object_patches = validation.pop("object_patches")
        evaluated = self.epoch_evaluator(self.last_object_patches) if self.epoch_evaluator else {}
        weights_finite = all(bool(torch.isfinite(p).all()) for p in self._parameters_list)
        if not weights_finite and history.nonfinite is None:
            history.nonfinite = {"step": history.steps_done, "epoch": epoch, "what": "weight"}
            history.stop_reason = "nonfinite"
            self.trainer.should_stop = True
        collapsed = validation["amp_cv"] < COLLAPSE_CV
        if collapsed and history.collapse_onset_epoch is None:
            history.collapse_onset_epoch = epoch
        self._collapsed_streak = self._collapsed_streak + 1 if collapsed else 0
        logged = [s for s in history.steps if s["epoch"] == epoch]
        record = {
            "epoch": epoch,
            "train_loss": float(self._epoch_loss.item() / self._epoch_steps) if self._epoch_steps else math.nan,
            "val_loss": validation["val_loss"],
            "val_fit_error": validation["val_fit_error"],
            "lr": self._epoch_lr,
            "amp_cv": validation["amp_cv"],
            "collapsed": collapsed,
            "steps": self._epoch_steps,
            "grad_norm_pre_mean": sum(s["grad_norm_pre"] for s in logged) / len(logged) if logged else None,
            "grad_norm_pre_max": max((s["grad_norm_pre"] for s in logged), default=None),
            "grad_norm_post_max": max((s["grad_norm_post"] for s in logged), default=None),
            **evaluated,
            "train_s": train_s,
            "wall_s": time.perf_counter() - self._epoch_started,
        }
        history.epochs.append(record)
        step_scheduler(self.scheduler, validation["val_loss"])
        history.final_lr = self.optimizers().param_groups[0]["lr"]
        if self.progress is not None:
            evaluated_text = "".join(f"  {key} {value:.3f}" for key, value in evaluated.items())
            self.progress(
                f"epoch {epoch + 1}/{config.epochs}  train {record['train_loss']:.4g}  val {record['val_loss']:.4g}"
                f"{evaluated_text}  lr {record['lr']:.3g}  amp std/mean {record['amp_cv']:.3g}  ({record['wall_s']:.1f} s)"
            )
        if config.collapse_patience and self._collapsed_streak >= config.collapse_patience and history.stop_reason is None:
            history.stop_reason = "collapsed"
            self.trainer.should_stop = True
        self.position = (epoch + 1, 0)
        if self._stop_requested():
            raise self.interrupt()
        if self.checkpointer is not None and history.stop_reason is None and epoch + 1 < config.epochs \
                and self.checkpointer.due():
            self.checkpointer.write(self.training_state())
