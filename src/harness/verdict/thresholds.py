"""The numbers the verdict decides by. The measurements each comes from are in ARCHITECTURE.md
("Measurements behind the numbers").

A run fits when it has removed at least FIT_FRACTION of the misfit a constant object has above the
noise floor: error ≤ noise + (1 − FIT_FRACTION)·(constant − noise). Both references are measured on
every run's own test split (`fit_noise_floor`, `fit_constant_object` in metrics.json), so the rule
follows the photon count; where they were not recorded (older run folders, the reference
trajectories) the paper-data value FIT_ERROR applies.
"""

# predicted amplitude std/mean below which the output is constant (training's collapse stop decides by it too)
from ..evaluate.metrics import COLLAPSE_CV as COLLAPSE_CV

FLOOR_MARGIN = 0.02            # amp_ssim ≤ floor + this: no better than a constant image (below the floor included)
RECONSTRUCTED_MARGIN = 0.20    # amp_ssim ≥ floor + this: the object is reconstructed (paper runs pass it by epoch 2–3,
                               # the quick profile's best runs stay below floor + 0.09)
FIT_FRACTION = 0.65            # share of a constant object's excess misfit a run must remove to fit the data
FIT_ERROR = 0.10               # the same rule on the paper data (0.098), for runs without recorded references

# Twin image (conj O(−r) fits the same pattern as O(r) under a probe with point-symmetric |P|): named
# when the predicted patch amplitudes follow the point-reflected truth clearly better than the truth.
TWIN_MARGIN = 0.10             # median correlation with the reflected truth exceeds the direct one by this
TWIN_MIN_CORRELATION = 0.30    # and is itself at least this

HEURISTIC_SSIM = 0.5           # the older heuristic: amp_ssim < 0.5 ...
HEURISTIC_VAL_LOSS = 0.15      # ... or final validation loss > 0.15

# Measured data: a fitting run is a twin image when its patches, each replaced by its own twin, agree where the scan
# overlaps by at least this much more than as predicted (evaluate/overlap.py). Runs whose patches were twins gave
# +0.08 to +0.38 over their predicted patches; runs that reconstruct, −0.1 to −0.5, and two of the second validation
# round +0.01 and +0.03 (which set this margin; docs/measured-data.md).
OVERLAP_TWIN_MARGIN = 0.05
