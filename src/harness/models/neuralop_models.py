"""neuraloperator's FNO and U-NO (the `neuralop` package, the `neuralop` extra) behind our contract:
(B, 1, N, N) diffraction amplitude → complex (B, N, N) patch, from the library's own (B, 2, N, N) output.

Depth is the number of Fourier layers. `neuralop-uno` follows the original study's U-NO: a lifting and a
projection of 128 channels, channel MLP skips linear, grid positional embedding, and a U over the layers
(the first layer at full resolution, then ⌊(d−1)/2⌋ halvings, layers at the coarsest resolution, and as many
doublings back), the channels doubling with each halving up to the channel cap.
"""

from __future__ import annotations

import contextlib
import io

from torch import nn

from .generator import complex_output
from .plan import GeneratorPlan, InfeasibleModel

EXTRA = "neuralop"
INSTALL = "pip install -e .[neuralop]"
LIFTING_CHANNELS = 128


def library():
    """neuralop.models, or an ImportError naming the extra."""
    try:
        import neuralop.models as models
    except ImportError as exc:
        raise ImportError(f"needs the optional neuraloperator library ({INSTALL}): {exc}") from None
    return models


def uno_levels(depth: int) -> list[int]:
    """The resolution level of each layer's output (0 = full): a U over the layers."""
    halvings = (depth - 1) // 2
    return [0, *range(1, halvings + 1), *[halvings] * (depth - 1 - 2 * halvings), *range(halvings - 1, -1, -1)]


def check_uno(plan: GeneratorPlan) -> None:
    deepest = max(uno_levels(plan.depth))
    if plan.n % 2**deepest:
        raise InfeasibleModel(f"depth {plan.depth} of neuralop-uno halves the patch {deepest} times, which n={plan.n} "
                              f"does not allow")


class LibraryGenerator(nn.Module):
    """A library model whose output channels 0 and 1 are the real and imaginary parts; adds no weights."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, diffraction):
        return complex_output(self.model(diffraction), 1)


def _quietly(build):
    with contextlib.redirect_stdout(io.StringIO()):  # the library prints its skip settings while building
        return build()


def build_fno(plan: GeneratorPlan) -> nn.Module:
    models = library()
    return LibraryGenerator(_quietly(lambda: models.FNO(
        n_modes=(plan.modes, plan.modes), in_channels=plan.in_channels, out_channels=2, hidden_channels=plan.width,
        n_layers=plan.depth)))


def build_uno(plan: GeneratorPlan) -> nn.Module:
    models = library()
    levels = uno_levels(plan.depth)
    cap = plan.max_hidden_channels
    channels = [min(plan.width * 2**level, cap) if cap else plan.width * 2**level for level in levels]
    scalings = [[1.0, 1.0]] + [[2.0 ** (previous - level)] * 2 for previous, level in zip(levels, levels[1:])]
    modes = [[min(plan.modes, plan.n // 2**level // 2 or 1)] * 2 for level in levels]
    return LibraryGenerator(_quietly(lambda: models.UNO(
        in_channels=plan.in_channels, out_channels=2, hidden_channels=plan.width, lifting_channels=LIFTING_CHANNELS,
        projection_channels=LIFTING_CHANNELS, n_layers=plan.depth, uno_out_channels=channels, uno_n_modes=modes,
        uno_scalings=scalings, positional_embedding="grid", channel_mlp_skip="linear")))
