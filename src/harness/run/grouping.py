"""Which runs train together (seed-batched): runs that differ only in their seed, in groups of a size
that fits the device.

On a GPU a group is as large as memory allows (all seeds of a configuration, at most): every kernel
then does K runs' work for one launch. On a CPU the cores are already busy with one run and a group
only makes the kernels slower (ARCHITECTURE.md has the figures), so studies on a CPU keep single runs
and spread them over cores with pytest-xdist instead.
"""

from __future__ import annotations

import json
import sys

import torch

from ..models.describe import describe_generator
from ..models.registry import architecture
from .config import RunConfig

CPU_GROUP_SIZE = 1
GPU_MEMORY_SHARE = 0.8   # of the free memory a group's training may take (the rest: the allocator, evaluation)


def group_key(config: RunConfig) -> str:
    """What must be equal for runs to train together: everything but the seed (and where they run)."""
    fields = config.hashed_fields()
    fields["train"] = {key: value for key, value in fields["train"].items() if key != "seed"}
    return json.dumps(fields, sort_keys=True)


def shareable(config: RunConfig) -> bool:
    """Whether a run can be one member of a group: ReduceLROnPlateau follows each run's own validation
    loss, so such runs train singly (a group shares one schedule); so does a generator that cannot be
    stacked into members."""
    return config.train.scheduler != "ReduceLROnPlateau" and architecture(config.model.architecture).stackable


def default_group_size(config: RunConfig, seeds: int) -> int:
    """How many of `seeds` runs of `config` to train together on its device."""
    if seeds <= 1 or not shareable(config):
        return 1
    if not config.device.startswith("cuda"):
        return CPU_GROUP_SIZE
    info = describe_generator(config.model, batch_size=config.train.batch_size)
    if not info["feasible"]:
        return 1
    free, _ = torch.cuda.mem_get_info(torch.device(config.device))
    return max(1, min(seeds, int(GPU_MEMORY_SHARE * free // info["train_memory_bytes"])))


def make_groups(configs: list[RunConfig], group_size: int | None = None) -> list[list[RunConfig]]:
    """The configurations in groups that train together: same configuration but for the seed, in chunks
    of `group_size` (default: the device's, see default_group_size), in the order given."""
    by_key: dict[str, list[RunConfig]] = {}
    for config in configs:
        by_key.setdefault(group_key(config), []).append(config)
    groups = []
    for members in by_key.values():
        size = group_size or default_group_size(members[0], len(members))
        if size > 1 and not shareable(members[0]):
            _say_once(f"{_why_single(members[0])}: its seeds train singly")
            size = 1
        groups += [members[start:start + size] for start in range(0, len(members), size)]
    return groups


def _why_single(config: RunConfig) -> str:
    if not architecture(config.model.architecture).stackable:
        return f"{config.model.architecture} cannot be stacked into a seed group"
    return "ReduceLROnPlateau follows each run's own validation loss"


_said: set[str] = set()


def _say_once(line: str) -> None:
    if line not in _said:
        _said.add(line)
        print(f"harness: {line}", file=sys.stderr)
