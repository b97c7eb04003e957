"""Root pytest configuration. The study plugin is installed as a pytest plugin (pyproject's pytest11 entry point);
naming it here too covers a checkout run without installing (benchmarks/gpu_reference.py on a GPU machine runs
from src/), and pytest skips it when the entry point already registered it under the same name."""

pytest_plugins = ["harness.study.plugin"]
