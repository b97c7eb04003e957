"""The generator registry: the built-ins, the later architectures of the original study, neuraloperator's
models through the library, and a user's generator by import path — each with its contract checked."""

import importlib.util
import json
import sys

import pytest
import torch

from harness.models import ARCHITECTURES, GeneratorPlan, InfeasibleModel, architecture, build_generator, check_plan
from harness.models.describe import describe_generator
from harness.models.registry import UnknownArchitecture
from harness.train import TrainConfig, TrainingData, fit, seeded
from stability_tests.tiny import TINY_MODEL

NEURALOP = importlib.util.find_spec("neuralop") is not None
needs_neuralop = pytest.mark.skipif(not NEURALOP, reason="needs the neuralop extra: pip install -e .[neuralop]")

# depth 4, width 32, 12 modes, 64 px, channel cap 512: the paper protocol's settings
PINNED_PARAMS = {"hybrid": 17_202_402, "stable_hybrid": 17_204_610, "fno_vanilla": 636_450, "ffno": 88_227,
                 "cnn": 585_244}


@pytest.mark.parametrize("name", sorted(PINNED_PARAMS))
def test_parameter_counts_at_the_paper_settings(name):
    plan = GeneratorPlan(name, 4, width=32, modes=12, max_hidden_channels=512, n=64)
    assert describe_generator(plan)["params"] == PINNED_PARAMS[name]


def test_the_later_architectures_count_what_their_definitions_say():
    width, modes, depth = 32, 12, 4
    lift = (1 * 9 * width + width) + (width * 9 * width + width)
    head = width * 2 + 2
    hybrid_block = width * width * modes * modes + (width * 9 * width + width)   # spectral (no bias) + Conv3×3
    assert PINNED_PARAMS["fno_vanilla"] == lift + depth * hybrid_block + head
    factorised = 2 * width * width * modes                                       # one per axis, shared by all blocks
    block = 2 * width + (width * 2 * width + 2 * width) + (2 * width * width + width)   # IN affine, expand, project
    refiner = 2 * (width * 9 * width + width)
    assert PINNED_PARAMS["ffno"] == lift + factorised + 1 + depth * block + 2 * refiner + head   # + 1 shared gate


def test_the_cnn_counts_what_its_definition_says():
    """PtychoPINN's CNN at depth 4: three encoder levels (width, 2·width, 4·width), two 3×3 convolutions each;
    two heads that climb back to n/2 and end in a central 3×3 convolution on 7/8 of the channels and a
    full-patch path (one more climbing pair on the other 1/8, then a 3×3 convolution)."""
    def conv(cin, cout):
        return 9 * cin * cout + cout
    width = 32
    c = [width, 2 * width, 4 * width]
    encoder = conv(1, c[0]) + conv(c[0], c[0]) + conv(c[0], c[1]) + conv(c[1], c[1]) + conv(c[1], c[2]) + conv(c[2], c[2])
    outer = width // 8
    head = (conv(c[2], c[1]) + conv(c[1], c[1]) + conv(c[1], c[0]) + conv(c[0], c[0])
            + conv(width - outer, 1) + conv(outer, width) + conv(width, width) + conv(width, 1))
    assert PINNED_PARAMS["cnn"] == encoder + 2 * head


def test_the_cnn_keeps_amplitude_and_phase_apart_and_its_object_in_the_centre():
    with seeded(1):
        model = build_generator(GeneratorPlan("cnn", 3, width=16, n=32))
    out = model(torch.rand(2, 1, 32, 32))
    assert out.shape == (2, 32, 32) and out.dtype == torch.complex64
    assert model.phase.activation(torch.tensor([1e6])).item() == pytest.approx(torch.pi)   # π·tanh bounds the phase
    x = torch.rand(1, 1, 32, 32)
    with torch.no_grad():
        before = model(x)
        model.amplitude.centre.bias += 1.0      # the central path reaches the middle n/2 × n/2 only
        changed = (model(x) - before).abs() > 1e-7
    assert changed[0, 8:24, 8:24].any() and not changed[0, :8].any() and not changed[0, :, 24:].any()
    with pytest.raises(InfeasibleModel, match="depth ≥ 2"):
        check_plan(GeneratorPlan("cnn", 1, width=8, n=32))


@pytest.mark.parametrize("name", ["fno_vanilla", "ffno", "cnn"])
def test_the_later_architectures_train_and_their_loss_falls(name, tiny_dataset):
    data = TrainingData.from_dataset(tiny_dataset)
    config = TrainConfig(epochs=4, batch_size=16, learning_rate=2e-3, seed=5, grad_clip=1.0)
    with seeded(config.seed):
        model = build_generator(GeneratorPlan(name, **TINY_MODEL))
        history = fit(model, data, config)
    assert history.stop_reason != "nonfinite"
    assert history.epochs[-1]["train_loss"] < history.epochs[0]["train_loss"]


def test_a_constant_resolution_generator_fits_any_depth_and_stacks_members():
    plan = GeneratorPlan("fno_vanilla", 9, width=4, modes=2, n=12)   # nine halvings of 12 px are impossible
    check_plan(plan)
    with pytest.raises(InfeasibleModel):
        check_plan(GeneratorPlan("hybrid", 9, width=4, modes=2, n=12))
    stacked = build_generator(plan, members=3)
    assert stacked(torch.randn(2, 3, 12, 12)).shape == (2, 3, 12, 12)
    assert not architecture("ffno").stackable
    with pytest.raises(ValueError, match="cannot be stacked"):
        build_generator(GeneratorPlan("ffno", 2, width=4, modes=2, n=12), members=2)


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_describe_gives_feasibility_and_memory_for_every_built_in(name):
    if ARCHITECTURES[name].extra and not NEURALOP:
        pytest.skip("needs the neuralop extra: pip install -e .[neuralop]")
    described = describe_generator(GeneratorPlan(name, 4, n=64, max_hidden_channels=512))
    assert described["feasible"] and described["params"] > 0 and described["train_memory_bytes"] > 0
    assert described["memory_breakdown_bytes"]["activations"] > 0


@needs_neuralop
@pytest.mark.parametrize("name, library_class", [("neuralop-fno", "FNO"), ("neuralop-uno", "UNO")])
def test_neuralop_models_are_the_library_s_own(name, library_class):
    import neuralop.models

    plan = GeneratorPlan(name, 4, width=16, modes=6, n=32)
    model = build_generator(plan)
    inner = model.model
    assert type(inner) is getattr(neuralop.models, library_class)
    assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in inner.parameters())  # no weights added
    assert describe_generator(plan)["params"] == sum(p.numel() for p in inner.parameters())
    output = model(torch.randn(3, 1, 32, 32))
    assert output.shape == (3, 32, 32) and output.is_complex()
    assert len(inner.fno_blocks.convs if name == "neuralop-fno" else inner.fno_blocks) == 4  # depth = Fourier layers


@needs_neuralop
def test_the_u_no_follows_the_original_study_at_its_depth():
    model = build_generator(GeneratorPlan("neuralop-uno", 4, width=32, modes=12, n=128)).model
    assert model.uno_out_channels == [32, 64, 64, 32]
    assert [list(s) for s in model.uno_scalings] == [[1.0, 1.0], [0.5, 0.5], [1.0, 1.0], [2.0, 2.0]]
    with pytest.raises(InfeasibleModel):
        check_plan(GeneratorPlan("neuralop-uno", 9, width=4, modes=2, n=12))


def test_a_user_generator_by_import_path_is_checked_and_built(user_generators):
    plan = GeneratorPlan(f"{user_generators}:build", 3, width=4, modes=2, n=16)
    assert describe_generator(plan)["params"] == sum(p.numel() for p in build_generator(plan).parameters())
    assert build_generator(plan)(torch.randn(2, 1, 16, 16)).shape == (2, 16, 16)
    assert not architecture(plan.architecture).stackable
    for name, message in ((f"{user_generators}:real_valued", "must map (B, 1, 16, 16) to a complex (B, 16, 16) tensor; it "
                                                         "returned torch.float32 (1, 2, 16, 16)"),
                          (f"{user_generators}:shallow_only",
                           "failed to build or run at depth 3, n=16: ValueError: depth 3 is deeper")):
        with pytest.raises(InfeasibleModel, match=message.replace("(", r"\(").replace(")", r"\)")):
            check_plan(GeneratorPlan(name, 3, width=4, modes=2, n=16))
    for name, message in (("no_such_module:build", "does not import"), (f"{user_generators}:absent", "has no 'absent'"),
                          (f"{user_generators}:not_callable", "is not callable"), ("resnet", "unknown architecture")):
        with pytest.raises(UnknownArchitecture, match=message):
            architecture(name)


def test_without_the_extra_its_architectures_are_refused_naming_the_flag(monkeypatch, usage_error, tmp_path):
    monkeypatch.setitem(sys.modules, "neuralop", None)            # as if not installed
    monkeypatch.setitem(sys.modules, "neuralop.models", None)
    usage_error(["run", "--profile", "smoke", "--architectures", "neuralop-uno", "--output-dir", str(tmp_path / "r")],
                "--architectures neuralop-uno: needs the optional neuraloperator library (pip install -e .[neuralop])",
                [tmp_path / "r"])


@needs_neuralop
@pytest.mark.integration
@pytest.mark.parametrize("name", ["neuralop-fno", "neuralop-uno"])
def test_a_smoke_run_of_a_neuralop_model(name, tmp_path, harness_process, cache_dir):
    folder = tmp_path / name
    result = harness_process(["run", "--profile", "smoke", "--N", "32", "--fno-width", "8", "--fno-modes", "4",
                              "--fno-blocks", "3", "--set-phi", "--architectures", name, "--threads", "1",
                              "--output-dir", str(folder), "--cache-dir", str(cache_dir)])
    assert result.returncode == 0, result.stderr
    stats = json.loads((folder / "stats.json").read_text())
    assert stats["architecture"] == name and stats["outcome"] in ("ok", "crashed", "inconclusive")
    assert stats["params"] == describe_generator(GeneratorPlan(name, 3, width=8, modes=4, n=32))["params"]


BROKEN_GENERATORS = '''
import torch
from torch import nn

class Plain(nn.Module):
    def __init__(self, plan, members=1):
        super().__init__()
        self.members = members
        self.conv = nn.Conv2d(members, 2 * members, 3, padding=1)
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        out = self.conv(x).unflatten(1, (self.members, 2)) if self.members > 1 else self.conv(x)
        return torch.complex(out[:, ..., 0, :, :], out[:, ..., 1, :, :])

class NaNOut(Plain):
    def forward(self, x):
        return super().forward(x) * float("nan")

class BatchOfOne(Plain):
    def forward(self, x):
        out = super().forward(x)
        return out if x.shape[0] == 1 else out[:1]

class SecondCallFails(Plain):
    def forward(self, x):
        if self.calls >= 1:
            raise RuntimeError("my state is stale")
        return super().forward(x)

class UsesItem(Plain):
    def forward(self, x):
        scale = x.abs().max().item()
        return super().forward(x / (scale + 1.0))

def nan_output(plan):
    return NaNOut(plan)

def batch_of_one(plan):
    return BatchOfOne(plan)

def second_call_fails(plan):
    return SecondCallFails(plan)

def uses_item(plan):
    return UsesItem(plan)

def members_break(plan, members=1):
    if members > 1:
        raise RuntimeError("I cannot stack")
    return Plain(plan)
'''


@pytest.fixture
def broken_generators(tmp_path, monkeypatch):
    (tmp_path / "broken_generators.py").write_text(BROKEN_GENERATORS)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "broken_generators"
    sys.modules.pop("broken_generators", None)
    architecture.cache_clear()


@pytest.mark.parametrize("name, members, says", [
    ("nan_output", 1, "returns non-finite values at depth 2, n=16 before any training step"),
    ("batch_of_one", 1, "it returned torch.complex64 (1, 16, 16) for a batch of 3"),
    ("second_call_fails", 1, "(a batch of 3): RuntimeError: my state is stale"),
    ("members_break", 3, "failed to build or run at depth 2, n=16, 3 members: RuntimeError: I cannot stack"),
])
def test_a_generator_that_fails_before_any_update_is_refused_not_trained(broken_generators, name, members, says):
    plan = GeneratorPlan(f"{broken_generators}:{name}", 2, width=4, modes=2, n=16)
    with pytest.raises(InfeasibleModel, match=says.replace("(", r"\(").replace(")", r"\)")):
        check_plan(plan, members=members)


def test_a_correct_generator_may_read_values_and_keeps_the_global_random_state(broken_generators):
    plan = GeneratorPlan(f"{broken_generators}:uses_item", 2, width=4, modes=2, n=16)
    torch.manual_seed(3)
    expected = torch.rand(2)
    torch.manual_seed(3)
    check_plan(plan)           # runs real values: .item() works, where the meta device could not
    assert torch.equal(torch.rand(2), expected)
    check_plan(GeneratorPlan(f"{broken_generators}:members_break", 2, width=4, modes=2, n=16))   # one member builds


@pytest.mark.parametrize("source, says", [
    ("def build(plan):\n    return (\n", "SyntaxError at import of"),
    ("raise RuntimeError('no GPU here')\n", "RuntimeError at import of bad_module_{i}: no GPU here"),
    ("import sys\nsys.exit(0)\n", "SystemExit at import of bad_module_{i}"),
])
def test_a_module_that_fails_to_parse_raises_or_exits_at_import_is_one_line(tmp_path, monkeypatch, source, says):
    i = len(says)   # a module name of its own per case: imports are cached by name
    (tmp_path / f"bad_module_{i}.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(UnknownArchitecture, match=says.format(i=i)):
        architecture(f"bad_module_{i}:build")
    sys.modules.pop(f"bad_module_{i}", None)
