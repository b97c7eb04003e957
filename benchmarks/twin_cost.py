"""The twin image's cost under each probe preset: |P|'s point-asymmetry (at its best centre), the Poisson
floor, the best constant object and the amplitude twin's misfit (the point-reflected true amplitude with
its phase fitted freely) on test patches of the paper data.

Run: .venv/bin/python benchmarks/twin_cost.py [--probes disk fzp] [--patches 8] [--steps 1500] [--starts 4]
"""

import argparse
import time

from harness.data import DatasetParams
from harness.evaluate.twin_cost import sample_patches, twin_cost


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
        params = DatasetParams(set_phi=True, nphotons=args.nphotons, probe_source=name)   # the paper data
        cost = twin_cost(*sample_patches(params, args.patches), steps=args.steps, starts=args.starts)
        centre = ", ".join(f"{c:g}" for c in cost["centre"])
        print(f"| {name} | {cost['asymmetry']:.3f} ({centre}) | {cost['poisson_floor']:.4f} | "
              f"{cost['constant_object']:.3f} | {cost['twin_misfit']:.4f} | {cost['twin_over_floor']:.1f} |"
              f"  ({time.perf_counter() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
