"""The tiny data and model of the tests that train: seconds on a CPU, with the real physics and every kind of layer."""

from harness.data import DatasetParams
from harness.models import GeneratorPlan

TINY_DATASET = DatasetParams(N=32, set_phi=True, object_size=96, n_lines=60, train_stride=8, test_stride=8, nphotons=1e9)
# two levels of 8 and 16 channels, 4 modes, 32 px
TINY_MODEL = dict(depth=2, width=8, modes=4, n=32)
TINY_PLAN = GeneratorPlan("hybrid", **TINY_MODEL)

# The studies of the plugin tests: tiny models, two seeds, a fixed design, depth 7 infeasible at N=32.
TINY_STUDIES = """
[protocol]
N = 32
set-phi = true
fno-width = 8
fno-modes = 4
torch-batch-size = 16
torch-log-grad-norm = true
torch-grad-clip = 1.0

[design]
design = "fixed"

[crash_hunt]
arm = "control"
depths = [2, 3, 7]
seeds = [11, 12]
seed_base = 11

[shootout]
arms = ["control", "layerscale"]
seeds = [11, 12]
seed_base = 11

[arms.control]
architectures = "hybrid"

[arms.layerscale]
architectures = "stable_hybrid"
torch-grad-clip = 0.0
"""
