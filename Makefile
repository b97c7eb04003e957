# Two commands do all the set-up on a fresh machine: `make crashhunt` and `make test`.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
EXTRAS := $(VENV)/.installed-extras
PYTEST := $(VENV)/bin/pytest

.PHONY: install crashhunt shootout test lint bench gpu-check gpu-reference clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	# torch first and pinned: this version resolves to the local CPU build (no CUDA downloads).
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install torch==2.13.0
	$(PY) -m pip install -e .
	touch $(STAMP)

# The optional libraries the tests also cover (neuraloperator's models as arms, the experiment trackers), and the
# linter and type checker;
# the studies need none.
$(EXTRAS): $(STAMP)
	$(PY) -m pip install -e ".[neuralop,dev,trackers,cluster]"
	touch $(EXTRAS)

crashhunt: $(STAMP)
	$(PYTEST) -m crashhunt --profile quick -n 2

# The shootout runs at the crash hunt's crash depth, or, when no depth was decided crashy, at the deepest depth
# decided stable at which every arm can be built (the report says which and why); DEPTH=D sets it.
shootout: $(STAMP)
	$(PYTEST) -m shootout --profile quick -n 2 $(if $(DEPTH),--crash-depth $(DEPTH))

# The linter (ruff: errors, import order, bugbear) and the type checker (mypy, on src/) first, then the fast units
# and the integration tests (plain `pytest` runs the fast units alone) over the machine's cores; work stealing,
# because a few integration tests take a minute each and the rest seconds.
test: $(EXTRAS) lint
	$(PYTEST) -n auto --dist worksteal -m "not slow"

lint: $(EXTRAS)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(VENV)/bin/harness bench

# On a GPU machine without internet: uses the Python that is there (torch with CUDA, lightning, ...),
# runs from src/ without installing; see benchmarks/gpu_check.py.
GPU_PYTHON ?= python3
gpu-check:
	$(GPU_PYTHON) benchmarks/gpu_check.py

# The paper protocol on one GPU within 9 minutes (device tests, seed-group bench, a depth-4 paper crash hunt under
# each probe as time allows), everything under one folder; see benchmarks/gpu_reference.py. GPU_REFERENCE_ARGS
# passes options, e.g. --out-dir DIR, or --allow-cpu for a dry run on a CPU.
gpu-reference:
	$(GPU_PYTHON) benchmarks/gpu_reference.py $(GPU_REFERENCE_ARGS)

clean:
	rm -rf $(VENV) runs fixtures/.cache
