"""K generators that differ only in their weights, stacked into one (seed-batched training).

A stacked model (`build_generator(..., members=K)`) is the same module tree as a single one with
every layer in its stacked form; each parameter holds member k's tensor as rows k of its first axis
(`member_view(p, K)[k]` is exactly the single model's parameter). So stacking is a concatenation
along axis 0 and unstacking a slice, and per-member quantities (gradient norms, clipping, AGC units)
are computed on the (K, …) view.
"""

from __future__ import annotations

import torch
from torch import nn

MEMBERS_ATTRIBUTE = "members"


def member_view(tensor: torch.Tensor, members: int) -> torch.Tensor:
    """(K·rows, …) → (K, rows, …), a view."""
    return tensor.unflatten(0, (members, -1))


def mark_members(model: nn.Module, members: int) -> None:
    """Tag every parameter of a stacked model with its member count (clipping reads it)."""
    for parameter in model.parameters():
        setattr(parameter, MEMBERS_ATTRIBUTE, members)


def parameter_members(parameter: torch.Tensor) -> int:
    return getattr(parameter, MEMBERS_ATTRIBUTE, 1)


@torch.no_grad()
def load_members(stacked: nn.Module, states: list[dict[str, torch.Tensor]]) -> nn.Module:
    """Copy K single models' state dicts into the stacked model (built with members=K); returns it."""
    for name, parameter in stacked.named_parameters():
        # copy_ keeps the stacked parameter's own memory layout (e.g. the mode-major spectral weights)
        parameter.copy_(torch.cat([state[name].to(parameter.device) for state in states], dim=0))
    mark_members(stacked, len(states))
    return stacked


def stack_members(stacked: nn.Module, singles: list[nn.Module]) -> nn.Module:
    """Copy K single models' parameters into the stacked model (built with members=K); returns it."""
    return load_members(stacked, [dict(single.named_parameters()) for single in singles])


@torch.no_grad()
def member_state_dict(stacked: nn.Module, member: int, members: int) -> dict[str, torch.Tensor]:
    """Member k's weights as a single model's state dict (loadable by `build_generator(...)`)."""
    return {name: member_view(value, members)[member].detach().clone()
            for name, value in stacked.state_dict().items()}


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
