"""Every other device computes what the CPU computes: the layers, the generator, the clipping and AGC,
the losses, a training run and its non-finite guard; and `run` and `bench` keep every model, batch and
reference tensor on the device asked for.

Each test takes `compute_device` (stability_tests/conftest.py): each device other than the CPU (CUDA when
a GPU is present), compared with the same computation on the CPU, TF32 off so that float32 means float32.
On a machine with no other device they are skipped: the CPU compared with itself proves nothing.
"""

import math
from contextlib import contextmanager

import pytest
import torch

from harness.models import GeneratorPlan, PtychoBlock, SpectralConv2d, StablePtychoBlock, build_generator
from harness.physics import make_synthetic_probe, normalize_probe, predicted_amplitude
from harness.train import TrainConfig, TrainingData, fit, seeded
from harness.train.clipping import adaptive_clip_grad_, clip_gradients_, global_grad_norm, mark_unit_axes
from harness.train.losses import amplitude_loss
from stability_tests.tiny import TINY_MODEL

TOLERANCE = dict(rtol=1e-4, atol=1e-5)
# A parameter's gradient is a sum over every output element (the head's bias: Σ of the upstream itself), and the
# two devices add in different orders: with cancellation, float32 rounding bounds the difference by the size of
# what is added, not of the result. Measured on an H200: 4.3e-4 on the generator's head bias, against
# eps·Σ|u| = 2.4e-4 for its 4096-element upstream; a wrong gradient is off by the result's own size.
REDUCTION_ROUNDING = 4 * torch.finfo(torch.float32).eps


@pytest.fixture(autouse=True)
def exact_float32():
    """TF32 convolutions and matmuls would differ from the CPU by ~1e-3: off for these comparisons."""
    conv, matmul = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = conv, matmul


def on_cpu(value):
    return value.detach().cpu() if isinstance(value, torch.Tensor) else [on_cpu(v) for v in value]


def forward_and_gradients(module: torch.nn.Module, x: torch.Tensor, device: str):
    """Output, input gradient and parameter gradients of sum(out·u) for a fixed upstream u, on `device`."""
    module = module.to(device)
    x = x.to(device).requires_grad_()
    out = module(x)
    out = torch.view_as_real(out) if out.is_complex() else out  # the generator's complex object patch
    upstream = torch.linspace(-1, 1, out.numel(), device=device).reshape(out.shape)
    parameters = [p for p in module.parameters() if p.requires_grad]
    grads = torch.autograd.grad((out * upstream).sum(), [x, *parameters])
    return on_cpu(out), on_cpu(grads), float(upstream.abs().sum())


def assert_same_as_cpu(build, x: torch.Tensor, device: str):
    torch.manual_seed(0)
    reference = build()
    device_copy = build()
    device_copy.load_state_dict(reference.state_dict())
    expected_out, expected_grads, upstream_mass = forward_and_gradients(reference, x, "cpu")
    out, grads, _ = forward_and_gradients(device_copy, x, device)
    torch.testing.assert_close(out, expected_out, **TOLERANCE)
    gradient_tolerance = dict(rtol=TOLERANCE["rtol"], atol=TOLERANCE["atol"] + REDUCTION_ROUNDING * upstream_mass)
    for got, want in zip(grads, expected_grads):
        torch.testing.assert_close(got, want, **gradient_tolerance)


@pytest.mark.parametrize("layer", ["spectral", "ptycho_block", "stable_block"])
def test_layers_match_the_cpu(layer, compute_device):
    build = {"spectral": lambda: SpectralConv2d(3, 4, 5), "ptycho_block": lambda: PtychoBlock(4, 5),
             "stable_block": lambda: StablePtychoBlock(4, 5, layer_scale_init=0.5)}[layer]
    channels = 3 if layer == "spectral" else 4
    x = torch.randn(2, channels, 16, 16, generator=torch.Generator().manual_seed(1))
    assert_same_as_cpu(build, x, compute_device)


@pytest.mark.parametrize("architecture", ["hybrid", "stable_hybrid"])
def test_generator_matches_the_cpu(architecture, compute_device):
    x = torch.rand(2, 1, 32, 32, generator=torch.Generator().manual_seed(2))
    assert_same_as_cpu(lambda: build_generator(GeneratorPlan(architecture, **TINY_MODEL)), x, compute_device)


def generator_gradients(device: str):
    """A generator with the gradients of the physics loss on one batch, on `device`."""
    with seeded(3):
        model = build_generator(GeneratorPlan("hybrid", **TINY_MODEL))
    model = model.to(device)
    mark_unit_axes(model)
    probe = torch.from_numpy(normalize_probe(make_synthetic_probe(32))).to(device)
    batch = torch.rand(4, 1, 32, 32, generator=torch.Generator().manual_seed(4)).to(device)
    amplitude_loss(predicted_amplitude(model(batch), probe), batch[:, 0]).backward()
    return [p for p in model.parameters() if p.requires_grad]


@pytest.mark.parametrize("algorithm, value", [("norm", 0.05), ("value", 1e-3), ("agc", 0.01), ("agc-per-tensor", 0.1)])
def test_clipping_and_agc_match_the_cpu(algorithm, value, compute_device):
    expected, got = generator_gradients("cpu"), generator_gradients(compute_device)
    torch.testing.assert_close(on_cpu(global_grad_norm(got)), global_grad_norm(expected), **TOLERANCE)
    for parameters in (expected, got):
        clip_gradients_(parameters, algorithm, value, global_grad_norm(parameters))
    for a, b in zip(expected, got):
        torch.testing.assert_close(on_cpu(b.grad), a.grad, **TOLERANCE)
    assert all(p.grad.device.type == torch.device(compute_device).type for p in got)


def test_agc_keeps_a_non_finite_gradient_non_finite(compute_device):
    parameter = torch.nn.Parameter(torch.ones(3, 2, device=compute_device))
    parameter.grad = torch.tensor([[1.0, math.nan], [100.0, 0.0], [0.001, 0.0]], device=compute_device)
    adaptive_clip_grad_([parameter], clip_factor=0.01)
    assert math.isnan(parameter.grad[0, 1].item())
    assert parameter.grad[1, 0].item() == pytest.approx(0.01 * math.sqrt(2), rel=1e-5)
    assert parameter.grad[2, 0].item() == pytest.approx(0.001)


@pytest.mark.parametrize("mode", ["mae", "poisson"])
def test_losses_match_the_cpu(mode, compute_device):
    generator = torch.Generator().manual_seed(5)
    predicted, measured = torch.rand(4, 32, 32, generator=generator), torch.rand(4, 32, 32, generator=generator)
    expected = amplitude_loss(predicted, measured, mode)
    got = amplitude_loss(predicted.to(compute_device), measured.to(compute_device), mode)
    torch.testing.assert_close(on_cpu(got), expected, **TOLERANCE)


def tiny_fit(tiny_dataset, device: str, **settings):
    config = TrainConfig(**{"epochs": 2, "batch_size": 16, "log_grad_norm": True, "grad_clip": 1.0, **settings})
    data = TrainingData.from_dataset(tiny_dataset, device)
    with seeded(config.seed):
        model = build_generator(GeneratorPlan("hybrid", **TINY_MODEL)).to(device)
        history = fit(model, data, config, device=device)
    return model, history


def test_a_training_run_matches_the_cpu_and_keeps_the_model_on_its_device(tiny_dataset, compute_device):
    model, history = tiny_fit(tiny_dataset, compute_device)
    # Lightning's teardown moves the module to the CPU; evaluation and inference must find it on its device.
    assert {p.device.type for p in model.parameters()} == {torch.device(compute_device).type}
    assert history.last_object_patches is not None and len(history.epochs) == 2
    _, reference = tiny_fit(tiny_dataset, "cpu")
    first = [s["loss"] for s in history.steps[:3]]
    torch.testing.assert_close(torch.tensor(first), torch.tensor([s["loss"] for s in reference.steps[:3]]),
                               rtol=1e-4, atol=0)
    # float-level differences grow through training (a fact the reports state); two epochs stay close
    torch.testing.assert_close(torch.tensor([e["val_loss"] for e in history.epochs]),
                               torch.tensor([e["val_loss"] for e in reference.epochs]), rtol=2e-2, atol=0)


def test_the_non_finite_guard_stops_at_the_step_on_every_device(tiny_dataset, compute_device):
    model, history = tiny_fit(tiny_dataset, compute_device, learning_rate=1e6, optimizer="sgd", grad_clip=0.0,
                              epochs=5)
    assert history.stop_reason == "nonfinite" and history.steps_done == history.nonfinite["step"]
    assert all(torch.isfinite(p).all() for p in model.parameters())


@contextmanager
def devices_seen():
    """The devices of every module's parameters and tensor inputs at every forward call, anywhere in torch."""
    seen = set()

    def record(module, inputs):
        seen.update(t.device.type for t in inputs if isinstance(t, torch.Tensor))
        seen.update(p.device.type for p in module.parameters(recurse=False))

    handle = torch.nn.modules.module.register_module_forward_pre_hook(record)
    try:
        yield seen
    finally:
        handle.remove()


def test_run_keeps_every_tensor_on_the_requested_device(tmp_path, cache_dir, compute_device):
    from harness.run import RunConfig, execute_run
    from stability_tests.tiny import TINY_DATASET, TINY_PLAN

    config = RunConfig(model=TINY_PLAN, data=TINY_DATASET, train=TrainConfig(epochs=1), profile="test",
                       device=compute_device)
    with devices_seen() as seen:
        stats = execute_run(config, tmp_path / "run", cache_dir=cache_dir)
    assert seen == {torch.device(compute_device).type} and stats.environment["device"] == compute_device


def test_bench_keeps_every_tensor_on_the_requested_device(compute_device):
    from harness.bench import BenchSettings, bench_model

    with devices_seen() as seen:
        result = bench_model("hybrid", 2, None, BenchSettings(steps=2, warmup=1, n=32, device=compute_device))
    assert seen == {torch.device(compute_device).type}
    assert result["harness_step_s"] > 0 and result["inference_patches_per_s"] > 0
