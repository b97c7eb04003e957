"""Where a result was computed: the device asked for resolved, and out-of-memory told from other failures."""

import torch

from harness.environment import cpu_count, is_out_of_memory, resolve_device, run_environment


def test_auto_is_the_gpu_where_there_is_one_and_explicit_names_pass_through():
    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("cpu") == "cpu" and resolve_device("cuda:1") == "cuda:1"


def test_out_of_memory_is_recognised_from_the_exception_and_nothing_else_is():
    assert is_out_of_memory(torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    assert is_out_of_memory(MemoryError())
    assert is_out_of_memory(RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 1 TB"))
    assert not is_out_of_memory(RuntimeError("mat1 and mat2 shapes cannot be multiplied"))
    assert not is_out_of_memory(ValueError("out of memory"))      # not a runtime failure of the device


def test_a_runs_environment_names_its_machine_and_versions():
    environment = run_environment("cpu", bf16_autocast=False)
    assert cpu_count() >= 1
    assert environment["torch"] == torch.__version__ and environment["device"] == "cpu"
