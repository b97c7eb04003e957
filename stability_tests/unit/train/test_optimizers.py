"""The optimizers by name: each name builds its torch optimizer with the settings given."""

import pytest
import torch

from harness.train.optimizers import OPTIMIZERS, SGD_MOMENTUM, build_optimizer


@pytest.mark.parametrize("name, kind", [("adam", torch.optim.Adam), ("adamw", torch.optim.AdamW),
                                        ("sgd", torch.optim.SGD)])
def test_each_name_builds_its_optimizer_with_the_settings_given(name, kind):
    parameter = torch.nn.Parameter(torch.zeros(3))
    optimizer = build_optimizer([parameter], name, lr=0.01, weight_decay=0.1, betas=(0.8, 0.9))
    group = optimizer.param_groups[0]
    assert isinstance(optimizer, kind) and (group["lr"], group["weight_decay"]) == (0.01, 0.1)
    if name == "sgd":
        assert group["momentum"] == SGD_MOMENTUM and group["nesterov"]
    else:
        assert group["betas"] == (0.8, 0.9)


def test_an_unknown_name_names_the_known_ones():
    with pytest.raises(ValueError, match="known: " + ", ".join(OPTIMIZERS)):
        build_optimizer([torch.nn.Parameter(torch.zeros(1))], "lion", lr=0.1)
