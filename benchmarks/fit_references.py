"""What a fit error means on a dataset: the relative diffraction-amplitude error of the true object
(Poisson noise: the lowest any model can reach) and of the best constant-amplitude object (a model
that knows nothing of the object). The verdict's FIT_ERROR threshold is calibrated against them.

Run: .venv/bin/python benchmarks/fit_references.py [--nphotons 1e9] [--train-stride 4 --test-stride 10]
     [--probe-source fzp|disk]   (the default probe is the zone plate's; --probe-defocus needs disk)
"""

import argparse

import numpy as np

from harness.data import DatasetParams, get_dataset
from harness.evaluate import fit_references
from harness.physics import normalize_probe
from harness.verdict import FIT_ERROR


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nphotons", type=float, default=1e9)
    parser.add_argument("--train-stride", type=int, default=4)
    parser.add_argument("--test-stride", type=int, default=10)
    parser.add_argument("--probe-defocus", type=float, default=0.0)
    parser.add_argument("--probe-source", default=DatasetParams.probe_source)
    args = parser.parse_args()
    params = DatasetParams(set_phi=True, nphotons=args.nphotons, train_stride=args.train_stride,
                           test_stride=args.test_stride, probe_defocus=args.probe_defocus, probe_source=args.probe_source)
    dataset = get_dataset(params)
    test = dataset.test
    train_x = np.asarray(dataset.train["diffraction"], dtype=np.float64)
    print(f"probe {args.probe_source}: training diffraction mean {train_x.mean():.4f}, std {train_x.std():.4f}; "
          f"intensity scale {float(dataset.train['intensity_scale']):.2f}")
    probe = normalize_probe(np.asarray(test["probeGuess"]))
    references = fit_references(test["diffraction"][..., 0], test["Y_I"][..., 0], test["Y_phi"][..., 0], probe)
    print(f"test split: {test['diffraction'].shape[0]} patches, {args.nphotons:g} photons, "
          f"probe {args.probe_source}, defocus {args.probe_defocus:g} rad")
    print(f"fit error of the true object (noise floor): {references['fit_noise_floor']:.4f}")
    print(f"fit error of the best constant object:      {references['fit_constant_object']:.4f}")
    print(f"the verdict's FIT_ERROR:                    {FIT_ERROR:.4f}")


if __name__ == "__main__":
    main()
