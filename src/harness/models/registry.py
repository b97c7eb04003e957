"""The generators by name: the built-ins, and any callable a user names by import path (`pkg.module:build`).

The contract a generator keeps (ours and a user's): `build(plan)` receives the run's `GeneratorPlan` (patch
size `n`, `depth`, `width`, `modes`, `max_hidden_channels`, `in_channels`) and returns a torch module that
maps a (B, 1, N, N) diffraction amplitude to the complex (B, N, N) object patch. A callable that also takes
`members=K` returns K independent generators stacked into one ((B, K, N, N) in, complex (B, K, N, N) out,
see members.py) and can train seeds as a group; any other trains its seeds singly.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import torch
from torch import nn

from . import neuralop_models
from .cnn import CnnGenerator, check_cnn
from .factorized import FfnoGenerator
from .generator import ConstantResolutionGenerator, PtychoGenerator
from .plan import GeneratorPlan, InfeasibleModel
from .ptycho_block import PtychoBlock
from .source import is_import_path, source_digest
from .stable_block import StablePtychoBlock


class UnknownArchitecture(ValueError):
    pass


@dataclass(frozen=True)
class Architecture:
    build: Callable[..., nn.Module]      # build(plan) → module; build(plan, members=K) when stackable
    what: str                            # one line: what it is
    stackable: bool = False              # builds K members stacked into one (seed groups)
    halves: bool = False                 # U-shaped: depth d halves the patch d − 1 times
    normalised: bool = False             # normalises over space: needs 2×2 pixels at every level
    extra: str | None = None             # the optional dependency it needs
    user: bool = False                   # named by import path: checked by building it
    check: Callable[[GeneratorPlan], None] | None = None   # its own shape rule (InfeasibleModel), before building

    def make(self, plan: GeneratorPlan, members: int, prune_unreachable_modes: bool) -> nn.Module:
        if members > 1 and not self.stackable:
            raise ValueError(f"{plan.architecture} cannot be stacked into seed groups: train its seeds singly")
        if self.user:
            return self.build(plan, members=members) if members > 1 else self.build(plan)
        if self.stackable:
            return self.build(plan, members=members, prune_unreachable_modes=prune_unreachable_modes)
        return self.build(plan)


def _u_shaped(block):
    return lambda plan, members=1, prune_unreachable_modes=True: PtychoGenerator(plan, block, prune_unreachable_modes,
                                                                                 members=members)


def _constant(block):
    return lambda plan, members=1, prune_unreachable_modes=True: ConstantResolutionGenerator(
        plan, block, prune_unreachable_modes, members=members)


# The registry and the list of valid names.
ARCHITECTURES = {
    "hybrid": Architecture(_u_shaped(PtychoBlock), "the U-shaped hybrid: x + GELU(Spectral(x) + Conv3×3(x)) "
                           "blocks, channels doubling with each halving", stackable=True, halves=True),
    "stable_hybrid": Architecture(_u_shaped(StablePtychoBlock), "the hybrid with norm-last + LayerScale blocks",
                                  stackable=True, halves=True, normalised=True),
    "fno_vanilla": Architecture(_constant(PtychoBlock), "constant-resolution FNO: depth hybrid blocks at full "
                                "resolution and constant width, no U (the original study's baseline)", stackable=True),
    "ffno": Architecture(FfnoGenerator, "factorised FNO: depth residual blocks at full resolution sharing one "
                         "factorised (per-axis) spectral layer, a 2× channel MLP and a gate, then two local refiners"),
    "cnn": Architecture(CnnGenerator, "PtychoPINN's default CNN: a max-pooling convolutional encoder and separate "
                        "amplitude (sigmoid) and phase (π·tanh) decoders", halves=True, check=check_cnn),
    "neuralop-fno": Architecture(neuralop_models.build_fno, "neuraloperator's FNO: depth Fourier layers",
                                 extra=neuralop_models.EXTRA),
    "neuralop-uno": Architecture(neuralop_models.build_uno, "neuraloperator's U-NO: depth Fourier layers in a U of "
                                 "resolutions (the original study's neuralop_uno)", extra=neuralop_models.EXTRA,
                                 check=neuralop_models.check_uno),
}


@lru_cache(maxsize=None)
def architecture(name: str) -> Architecture:
    """The registered architecture, or the callable at `pkg.module:attr` (UnknownArchitecture saying why not)."""
    if name in ARCHITECTURES:
        return ARCHITECTURES[name]
    if not is_import_path(name):
        raise UnknownArchitecture(f"unknown architecture (known: {', '.join(ARCHITECTURES)}, or a callable as "
                                  "package.module:function)")
    module_name, _, attribute = name.partition(":")
    try:
        found = getattr(importlib.import_module(module_name), attribute)
    except ImportError as exc:
        raise UnknownArchitecture(f"does not import: {exc}") from None
    except AttributeError:
        raise UnknownArchitecture(f"module {module_name} has no {attribute!r}") from None
    except (Exception, SystemExit) as exc:  # noqa: BLE001 — a module that fails to parse, raises or exits at import
        raise UnknownArchitecture(f"does not import: {type(exc).__name__} at import of {module_name}: {exc}") from None
    if not callable(found):
        raise UnknownArchitecture(f"{attribute} in {module_name} is not callable")
    try:
        stackable = "members" in inspect.signature(found).parameters
    except (TypeError, ValueError):
        stackable = False
    return Architecture(found, f"a user's generator ({name})", stackable=stackable, user=True)


def check_extra(name: str) -> None:
    """UnknownArchitecture when the architecture needs an optional library that is not installed."""
    if architecture(name).extra == neuralop_models.EXTRA:
        try:
            neuralop_models.library()
        except ImportError as exc:
            raise UnknownArchitecture(str(exc)) from None


# The batch sizes a user's generator is run at before it is trained: two, so that a batch-size-dependent
# failure, or one on a second call, is found here.
CONTRACT_BATCHES = (1, 3)


def check_contract(plan: GeneratorPlan, members: int = 1) -> None:
    """Build a user's generator on the CPU (K members stacked, for members=K) and run it forward and backward at
    two batch sizes: InfeasibleModel, saying what went wrong, unless each returns a finite complex (B, N, N) tensor
    ((B, K, N, N) for K members). A generator that fails before any update is refused here, never blamed as a
    crash of its recipe. The global random state is left as it was; a source checked once is not checked again."""
    _checked_contract(plan, members, source_digest(plan.architecture))


@lru_cache(maxsize=None)
def _checked_contract(plan: GeneratorPlan, members: int, source: str) -> None:
    shape = (plan.n, plan.n) if members == 1 else (members, plan.n, plan.n)
    where = f"at depth {plan.depth}, n={plan.n}" + (f", {members} members" if members > 1 else "")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        try:
            model = architecture(plan.architecture).make(plan, members, True)
        except InfeasibleModel:
            raise
        except Exception as exc:  # noqa: BLE001 — a user's code can fail in any way; the run records why
            raise InfeasibleModel(f"{plan.architecture} failed to build or run {where}: "
                                  f"{type(exc).__name__}: {exc}") from None
        for batch in CONTRACT_BATCHES:
            _check_one_batch(model, (batch, plan.in_channels if members == 1 else members, plan.n, plan.n),
                             (batch, *shape), plan.architecture, where)


def _check_one_batch(model: nn.Module, inputs: tuple, expected: tuple, name: str, where: str) -> None:
    try:
        output = model(torch.rand(inputs))
        if isinstance(output, torch.Tensor) and output.is_complex() and output.requires_grad:
            output.abs().sum().backward()
    except InfeasibleModel:
        raise
    except Exception as exc:  # noqa: BLE001
        raise InfeasibleModel(f"{name} failed to build or run {where} (a batch of {inputs[0]}): "
                              f"{type(exc).__name__}: {exc}") from None
    if not isinstance(output, torch.Tensor) or not output.is_complex() or tuple(output.shape) != expected:
        got = (f"{output.dtype} {tuple(output.shape)}" if isinstance(output, torch.Tensor) else type(output).__name__)
        raise InfeasibleModel(f"{name} must map {_shape(inputs)} to a complex {_shape(expected)} tensor; it returned "
                              f"{got} for a batch of {inputs[0]}")
    if not bool(torch.isfinite(torch.view_as_real(output.detach())).all()):
        raise InfeasibleModel(f"{name} returns non-finite values {where} before any training step (a batch of "
                              f"{inputs[0]}): the generator is broken, not its training")


def _shape(shape: tuple) -> str:
    return "(" + ", ".join(["B", *map(str, shape[1:])]) + ")"
