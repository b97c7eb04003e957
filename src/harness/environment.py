"""Where a result is computed: machine, device, precision and library versions; which device to use.

Per-seed outcomes are not portable across devices, precision or library versions (float-level
differences grow through training), so every run and every report records them.
"""

from __future__ import annotations

import os
import platform

import lightning
import numpy
import torch


def cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def cpu_flags() -> set[str]:
    """The CPU's feature flags (x86 `flags`, ARM `Features`) from /proc/cpuinfo; empty where unknown."""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith(("flags", "Features")):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16", "bf16")  # x86 AVX-512 BF16 / AMX, ARM BF16


def native_bf16_cpu() -> str | None:
    """The flag that gives this CPU native bfloat16 arithmetic, or None (bf16 is then emulated, and slow)."""
    flags = cpu_flags()
    return next((flag for flag in NATIVE_BF16_FLAGS if flag in flags), None)


def kernel_info(device: str) -> dict:
    """Which kernels a timing on `device` measured: oneDNN and native bf16 on a CPU, cuDNN and TF32 on a GPU."""
    if str(device).startswith("cuda"):
        return {"device": gpu_name(device), "cudnn": torch.backends.cudnn.version(),
                "tf32_convolutions": torch.backends.cudnn.allow_tf32,
                "tf32_matmul": torch.backends.cuda.matmul.allow_tf32,
                "bf16": "native" if torch.cuda.is_bf16_supported() else "emulated"}
    native = native_bf16_cpu()
    simd = [flag for flag in ("avx512f", "avx2", "asimd", "sve") if flag in cpu_flags()]
    return {"device": cpu_model(), "onednn": torch.backends.mkldnn.is_available(), "simd": simd,
            "bf16": f"native ({native})" if native else "emulated (no native bf16 instructions)"}


def machine() -> str:
    return f"{cpu_model()}, {cpu_count()} CPUs, {platform.machine()}"


def versions() -> dict:
    return {"python": platform.python_version(), "torch": torch.__version__, "cuda": torch.version.cuda,
            "lightning": lightning.__version__, "numpy": numpy.__version__}


def gpu_name(device: str | None = None) -> str | None:
    if not torch.cuda.is_available() or (device is not None and not str(device).startswith("cuda")):
        return None
    return torch.cuda.get_device_name(torch.device(device) if device and ":" in str(device) else 0)


def run_environment(device: str, bf16_autocast: bool) -> dict:
    """What stats.json records of where a run was computed."""
    return {"device": device, "gpu": gpu_name(device), "machine": machine(),
            "precision": "bf16-autocast" if bf16_autocast else "float32", **versions()}


def resolve_device(requested: str) -> str:
    """`auto` → cuda when present, else cpu; explicit names pass through."""
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return requested


def is_out_of_memory(error: BaseException) -> bool:
    """Whether an exception says the device (or the host) ran out of memory: an `oom` run, not a crash."""
    if isinstance(error, (torch.OutOfMemoryError, MemoryError)):
        return True
    message = str(error).lower()
    return isinstance(error, RuntimeError) and ("out of memory" in message or "can't allocate memory" in message)
