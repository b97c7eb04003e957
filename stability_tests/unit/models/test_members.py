"""Stacked generators (models/members.py): K members in one model compute what K single models compute,
and the clipping of a stacked model is each member's own."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.models import GeneratorPlan, build_generator
from harness.models.members import member_state_dict, member_view, stack_members
from harness.train.clipping import adaptive_clip_grad_, clip_gradients_, global_grad_norm, mark_unit_axes

TINY = dict(depth=3, width=8, modes=4, n=32)


def singles_and_stack(architecture: str, members: int):
    singles = []
    for seed in range(members):
        torch.manual_seed(100 + seed)
        singles.append(build_generator(GeneratorPlan(architecture, **TINY)))
    stacked = stack_members(build_generator(GeneratorPlan(architecture, **TINY), members=members), singles)
    return singles, stacked


@pytest.mark.parametrize("architecture", ["hybrid", "stable_hybrid"])
def test_a_stacked_model_is_its_members(architecture):
    singles, stacked = singles_and_stack(architecture, 3)
    assert sum(p.numel() for p in stacked.parameters()) == 3 * sum(p.numel() for p in singles[0].parameters())
    x = torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    out = stacked(x)
    assert out.shape == (4, 3, 32, 32) and out.is_complex()
    for member, single in enumerate(singles):
        torch.testing.assert_close(out[:, member], single(x[:, member:member + 1]), rtol=1e-5, atol=1e-6)
        reloaded = build_generator(GeneratorPlan(architecture, **TINY))
        reloaded.load_state_dict(member_state_dict(stacked, member, 3))
        for a, b in zip(reloaded.state_dict().values(), single.state_dict().values()):
            assert torch.equal(a, b)


def test_each_member_gets_its_own_gradients():
    singles, stacked = singles_and_stack("hybrid", 2)
    x = torch.rand(2, 2, 32, 32, generator=torch.Generator().manual_seed(1))
    (stacked(x).abs() * torch.tensor([1.0, 3.0]).view(1, 2, 1, 1)).sum().backward()
    for member, (single, scale) in enumerate(zip(singles, (1.0, 3.0))):
        (single(x[:, member:member + 1]).abs() * scale).sum().backward()
        for (name, stacked_p), single_p in zip(stacked.named_parameters(), single.parameters()):
            if stacked_p.grad is None:
                continue
            torch.testing.assert_close(member_view(stacked_p.grad, 2)[member], single_p.grad, rtol=1e-4, atol=1e-6,
                                       msg=name)


def _with_gradients(model, seed):
    mark_unit_axes(model)
    generator = torch.Generator().manual_seed(seed)
    for parameter in model.parameters():
        if parameter.requires_grad:
            parameter.grad = torch.randn(parameter.shape, generator=generator, dtype=parameter.dtype) * 3
    return [p for p in model.parameters() if p.requires_grad]


@settings(max_examples=10, deadline=None)
@given(algorithm=st.sampled_from(["norm", "value", "agc", "agc-per-tensor"]), clip=st.sampled_from([0.01, 0.1, 1.0]))
def test_clipping_a_stacked_model_is_clipping_each_member(algorithm, clip):
    singles, stacked = singles_and_stack("stable_hybrid", 3)
    single_parameters = [_with_gradients(single, seed) for seed, single in enumerate(singles)]
    stacked_parameters = _with_gradients(stacked, 99)
    with torch.no_grad():  # the stacked gradients are the members' gradients
        for index, parameter in enumerate(stacked_parameters):
            parameter.grad.copy_(torch.cat([parameters[index].grad for parameters in single_parameters]))
    norms = global_grad_norm(stacked_parameters)
    assert norms.shape == (3,)
    for member, parameters in enumerate(single_parameters):
        torch.testing.assert_close(norms[member], global_grad_norm(parameters), rtol=1e-5, atol=0)
    clip_gradients_(stacked_parameters, algorithm, clip, norms)
    for member, parameters in enumerate(single_parameters):
        clip_gradients_(parameters, algorithm, clip, global_grad_norm(parameters))
        for stacked_p, single_p in zip(stacked_parameters, parameters):
            torch.testing.assert_close(member_view(stacked_p.grad, 3)[member], single_p.grad, rtol=1e-5, atol=1e-7)


def test_agc_of_a_stacked_model_keeps_a_members_non_finite_gradient_to_that_member():
    _, stacked = singles_and_stack("hybrid", 2)
    parameters = _with_gradients(stacked, 5)
    before = [p.grad.clone() for p in parameters]
    with torch.no_grad():
        member_view(parameters[0].grad, 2)[1].fill_(float("nan"))
    norms = global_grad_norm(parameters)
    assert torch.isfinite(norms[0]) and torch.isnan(norms[1])
    adaptive_clip_grad_(parameters, clip_factor=0.01)
    assert torch.isnan(member_view(parameters[0].grad, 2)[1]).all()
    assert torch.isfinite(member_view(parameters[0].grad, 2)[0]).all()
    assert not torch.equal(member_view(parameters[0].grad, 2)[0], member_view(before[0], 2)[0])  # member 0 clipped


def test_a_members_optimizer_state_is_its_single_runs_and_stacking_inverts_it():
    """Adam on a stacked model of two members holds, per member, exactly what each single run's Adam holds."""
    from harness.models.members import member_optimizer_state, stacked_optimizer_state

    torch.manual_seed(0)
    singles = [torch.nn.Linear(3, 2) for _ in range(2)]
    stacked = torch.nn.Linear(3, 4)   # rows 0-1 member 0, rows 2-3 member 1: the stacking along dim 0
    with torch.no_grad():
        stacked.weight.copy_(torch.cat([s.weight for s in singles]))
        stacked.bias.copy_(torch.cat([s.bias for s in singles]))
    x = torch.randn(5, 3)
    optimizers = [torch.optim.Adam(s.parameters(), lr=0.1) for s in singles]
    for single, optimizer in zip(singles, optimizers):
        single(x).square().sum().backward()
        optimizer.step()
    joint = torch.optim.Adam(stacked.parameters(), lr=0.1)
    stacked(x).square().sum().backward()
    joint.step()
    parameters = list(stacked.parameters())
    for member, optimizer in enumerate(optimizers):
        share = member_optimizer_state(joint.state_dict(), parameters, member, 2)
        for index, entry in optimizer.state_dict()["state"].items():
            for name in ("exp_avg", "exp_avg_sq"):
                torch.testing.assert_close(share["state"][index][name], entry[name])
    restacked = stacked_optimizer_state([member_optimizer_state(joint.state_dict(), parameters, m, 2) for m in range(2)])
    for index, entry in joint.state_dict()["state"].items():
        torch.testing.assert_close(restacked["state"][index]["exp_avg_sq"], entry["exp_avg_sq"])
