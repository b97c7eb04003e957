"""The U-shaped generators, the channel cap and feasibility."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.models import (
    GeneratorPlan,
    InfeasibleModel,
    UnknownArchitecture,
    build_generator,
    check_plan,
    max_feasible_depth,
)
from harness.models.describe import describe_generator


def parameter_count(model):
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("depth, cap, expected", [(4, None, 17_202_402), (6, 512, 118_263_522)])
def test_parameter_counts(depth, cap, expected):
    with torch.device("meta"):
        model = build_generator(GeneratorPlan("hybrid", depth=depth, max_hidden_channels=cap))
    assert parameter_count(model) == expected


def test_materialised_depth4_matches_the_count():
    assert parameter_count(build_generator(GeneratorPlan("hybrid", depth=4))) == 17_202_402


def _output_channels(model):
    return [m.out_channels for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))] + [
        m.out_channels for m in model.modules() if m.__class__.__name__ == "SpectralConv2d"
    ]


def test_channel_cap_takes_effect():
    with torch.device("meta"):
        capped = build_generator(GeneratorPlan("hybrid", depth=6, max_hidden_channels=512))
        uncapped = build_generator(GeneratorPlan("hybrid", depth=6))
    assert max(_output_channels(capped)) == 512
    assert check_plan(GeneratorPlan("hybrid", depth=6, max_hidden_channels=512)).channels == [32, 64, 128, 256, 512, 512]
    assert max(_output_channels(uncapped)) == 1024
    assert check_plan(GeneratorPlan("hybrid", depth=6)).channels[-1] == 1024


def test_max_feasible_depth():
    assert max_feasible_depth(64) == 7 and max_feasible_depth(96) == 6 and max_feasible_depth(33) == 1


def test_infeasible_depth_raises_before_allocating(monkeypatch):
    def no_allocation(*args, **kwargs):
        raise AssertionError("a layer was constructed")

    monkeypatch.setattr(torch.nn.Conv2d, "__init__", no_allocation)
    with pytest.raises(InfeasibleModel, match=r"depth 8 .*n=64.*at most depth 7"):
        build_generator(GeneratorPlan("hybrid", depth=8, n=64))
    assert issubclass(InfeasibleModel, ValueError)


def test_unknown_architecture_lists_the_known_ones():
    with pytest.raises(UnknownArchitecture, match="hybrid, stable_hybrid"):
        build_generator(GeneratorPlan("resnet", depth=2))


@settings(max_examples=15, deadline=None)
@given(
    architecture=st.sampled_from(["hybrid", "stable_hybrid"]),
    n=st.sampled_from([8, 16, 24, 32]),
    depth=st.integers(1, 6),
    batch=st.integers(1, 2),
)
def test_output_shape_and_dtype_or_infeasible(architecture, n, depth, batch):
    kwargs = dict(depth=depth, width=4, modes=3, max_hidden_channels=16, n=n)
    deepest_size = n // 2 ** (depth - 1) if depth <= max_feasible_depth(n) else 0
    if depth > max_feasible_depth(n) or (architecture == "stable_hybrid" and deepest_size < 2):
        with pytest.raises(InfeasibleModel):
            build_generator(GeneratorPlan(architecture, **kwargs))
        return
    model = build_generator(GeneratorPlan(architecture, **kwargs))
    y = model(torch.randn(batch, 1, n, n))
    assert y.shape == (batch, n, n) and y.dtype == torch.complex64


@pytest.mark.parametrize("architecture, depth, cap", [("hybrid", 2, None), ("stable_hybrid", 3, 64), ("hybrid", 4, 128)])
def test_describe_agrees_with_the_materialised_model(architecture, depth, cap):
    info = describe_generator(GeneratorPlan(architecture, depth=depth, width=16, modes=6, max_hidden_channels=cap, n=32),
                              batch_size=2)
    model = build_generator(GeneratorPlan(architecture, depth=depth, width=16, modes=6, max_hidden_channels=cap, n=32))
    assert info["params"] == parameter_count(model)
    plan = GeneratorPlan(architecture, depth=depth, width=16, max_hidden_channels=cap, n=32)
    assert info["channels"] == check_plan(plan).channels
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    trained = sum(p.numel() * p.element_size() for p in model.parameters() if p.requires_grad)
    memory = info["memory_breakdown_bytes"]
    assert memory["weights"] == weights and memory["gradients"] == trained and memory["optimizer_state"] == 2 * trained
    assert info["train_memory_bytes"] > weights + 3 * trained  # + activations


def test_describe_counts_live_parameters():
    info = describe_generator(GeneratorPlan("hybrid", depth=6, max_hidden_channels=512))
    # level 4 (4×4 px) keeps 4×3 of 12×12 modes, level 5 and the bottleneck (2×2 px) 2×2 of 12×12 and 6×6
    dead = 512 * 512 * (144 - 12) + 512 * 512 * (144 - 4) + 512 * 512 * (36 - 4)
    dead += 256 * 256 * (144 - 8 * 5) + 128 * 128 * (144 - 12 * 9)  # 8×8 px and 16×16 px levels
    assert info["live_params"] == info["params"] - dead


def test_describe_allocates_nothing_for_billions_of_parameters():
    import tracemalloc

    tracemalloc.start()
    info = describe_generator(GeneratorPlan("hybrid", depth=7, width=512, max_hidden_channels=None))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert info["params"] > 2e9
    assert peak < 50e6  # bytes: the 8 GB of weights were never materialised (meta tensors)


def test_describe_reports_infeasible():
    info = describe_generator(GeneratorPlan("hybrid", depth=8))
    assert info["feasible"] is False and "at most depth 7" in info["reason"]
