"""The generator's shape before any weight exists: channels per level and feasibility."""

from __future__ import annotations

from dataclasses import dataclass


class InfeasibleModel(ValueError):
    """The configuration cannot be built (e.g. more halvings than the patch size allows)."""


def max_feasible_depth(n: int) -> int:
    """Depth d needs d−1 halvings of n, so n must be divisible by 2^(d−1)."""
    depth = 1
    while n % (2 ** depth) == 0:
        depth += 1
    return depth


@dataclass(frozen=True)
class GeneratorPlan:
    """A generator's settings: what `build_generator` builds, `describe` measures and a RunConfig records."""

    architecture: str
    depth: int
    width: int = 32
    modes: int = 12
    max_hidden_channels: int | None = None
    n: int = 64
    in_channels: int = 1

    @property
    def channels(self) -> list[int]:
        """c₀ = width, c_{i+1} = min(2·c_i, cap) for the depth levels."""
        channels = [self.width]
        for _ in range(self.depth - 1):
            doubled = 2 * channels[-1]
            channels.append(min(doubled, self.max_hidden_channels) if self.max_hidden_channels else doubled)
        return channels

    @property
    def sizes(self) -> list[int]:
        """Spatial size (pixels per side) at each level."""
        return [self.n // 2**level for level in range(self.depth)]

    def check(self) -> None:
        """Raise InfeasibleModel before anything is allocated, saying why and what would work."""
        if self.depth < 1:
            raise InfeasibleModel(f"depth {self.depth} is not a depth: it must be at least 1")
        for name, value in (("width", self.width), ("modes", self.modes), ("n", self.n)):
            if value < 1:
                raise InfeasibleModel(f"{name} {value} must be at least 1")
        if self.max_hidden_channels is not None and self.max_hidden_channels < self.width:
            raise InfeasibleModel(
                f"max_hidden_channels {self.max_hidden_channels} is below the width {self.width}"
            )

    def check_halvings(self, normalised: bool = False) -> None:
        """A U-shaped generator halves the patch depth − 1 times (InfeasibleModel when n does not allow it)."""
        largest = max_feasible_depth(self.n)
        if self.depth > largest:
            step = 2 ** (self.depth - 1)
            raise InfeasibleModel(
                f"depth {self.depth} needs {self.depth - 1} halvings of n={self.n}, which allows "
                f"at most depth {largest}; use depth ≤ {largest}, or a patch size divisible by {step} "
                f"(e.g. n={-(-self.n // step) * step})"
            )
        if normalised and self.sizes[-1] < 2:
            raise InfeasibleModel(
                f"depth {self.depth} of {self.architecture} reaches 1×1 pixel at n={self.n}, where its instance "
                f"normalisation is undefined; use depth ≤ {self.depth - 1}"
            )
