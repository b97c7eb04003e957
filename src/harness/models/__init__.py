"""Generators and their layers: one layer per module, composed by `build_generator` (build.py)."""

from typing import Any

from ..exports import LazyExports

_EXPORTS = LazyExports(__name__, {
    "ARCHITECTURES": ".registry", "Architecture": ".registry", "UnknownArchitecture": ".registry",
    "architecture": ".registry", "check_contract": ".registry",
    "GeneratorPlan": ".plan", "InfeasibleModel": ".plan", "max_feasible_depth": ".plan",
    "PtychoGenerator": ".generator", "LayerScale": ".layer_scale", "PtychoBlock": ".ptycho_block",
    "StablePtychoBlock": ".stable_block", "SpectralConv2d": ".spectral_conv", "live_modes": ".spectral_conv",
    "build_generator": ".build", "check_plan": ".build",
})
__all__ = _EXPORTS.names


def __getattr__(name: str) -> Any:
    return _EXPORTS.load(name)
