"""Where a result was computed: machine, device, precision and library versions.

Per-seed outcomes are not portable across devices, precision or library versions (float-level
differences grow through training), so every run and every report records them.
"""

from __future__ import annotations

import os
import platform


def cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def machine() -> str:
    return f"{cpu_model()}, {cpu_count()} CPUs, {platform.machine()}"


def versions() -> dict:
    import lightning
    import numpy
    import torch

    return {"python": platform.python_version(), "torch": torch.__version__, "cuda": torch.version.cuda,
            "lightning": lightning.__version__, "numpy": numpy.__version__}


def gpu_name(device: str | None = None) -> str | None:
    import torch

    if not torch.cuda.is_available() or (device is not None and not str(device).startswith("cuda")):
        return None
    return torch.cuda.get_device_name(torch.device(device) if device and ":" in str(device) else 0)


def run_environment(device: str, bf16_autocast: bool) -> dict:
    """What stats.json records of where a run was computed."""
    return {"device": device, "gpu": gpu_name(device), "machine": machine(),
            "precision": "bf16-autocast" if bf16_autocast else "float32", **versions()}
