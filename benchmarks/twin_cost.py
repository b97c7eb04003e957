"""The twin image's cost under each probe preset: |P|'s point-asymmetry (at its best centre), the Poisson
floor, the best constant object and the amplitude twin's misfit (the point-reflected true amplitude with
its phase fitted freely) on test patches of the paper data.

Run: .venv/bin/python benchmarks/twin_cost.py [--probes disk fzp] [--patches 8] [--steps 1500] [--starts 4]
"""

import argparse
import time

import numpy as np

from harness.data import DatasetParams
from harness.data.simulation import _split_arrays, diffraction_amplitude, resolve_probe
from harness.evaluate.twin_cost import twin_cost
from harness.physics import normalize_probe


def patches_of(probe_source: str, count: int, nphotons: float) -> tuple:
    """`count` test patches of the paper data (evenly spread over the test split) with their measured amplitudes."""
    params = DatasetParams(set_phi=True, nphotons=nphotons, probe_source=probe_source)
    probe = normalize_probe(resolve_probe(params)[0])
    split = _split_arrays(params, 1, params.test_stride, params.test_seed)
    chosen = np.linspace(0, split["Y"].shape[0] - 1, count).astype(int)
    amplitude, phase = split["Y"][chosen], split["phi"][chosen]
    scale = float(np.sqrt(nphotons / np.mean(np.sum((amplitude.astype(np.float64) * np.abs(probe)) ** 2, axis=(1, 2)))))
    measured = diffraction_amplitude(amplitude, phase, probe, scale, split["noise_rng"])
    return measured, amplitude, phase, probe


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probes", nargs="+", default=["disk", "fzp"])
    parser.add_argument("--patches", type=int, default=8)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--starts", type=int, default=4)
    parser.add_argument("--nphotons", type=float, default=1e9)
    args = parser.parse_args()
    print("| probe | asymmetry (centre) | Poisson floor | constant object | amplitude-twin misfit | twin / floor |")
    print("|---|---|---|---|---|---|")
    for name in args.probes:
        started = time.perf_counter()
        cost = twin_cost(*patches_of(name, args.patches, args.nphotons), steps=args.steps, starts=args.starts)
        centre = ", ".join(f"{c:g}" for c in cost["centre"])
        print(f"| {name} | {cost['asymmetry']:.3f} ({centre}) | {cost['poisson_floor']:.4f} | "
              f"{cost['constant_object']:.3f} | {cost['twin_misfit']:.4f} | {cost['twin_over_floor']:.1f} |"
              f"  ({time.perf_counter() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
