"""Benchmark: build the paper-size dataset (6889 + 1089 patches of 64×64) into an empty cache.

Run: .venv/bin/python benchmarks/dataset_build.py   (target ≤ 10 s on a 2-core machine)
"""

import tempfile
import time

from harness.data import DatasetParams, get_dataset


def main() -> None:
    params = DatasetParams(set_phi=True)
    with tempfile.TemporaryDirectory() as cache_dir:
        start = time.perf_counter()
        dataset = get_dataset(params, cache_dir)
        built_s = time.perf_counter() - start
        start = time.perf_counter()
        get_dataset(params, cache_dir)
        reuse_s = time.perf_counter() - start
    print(f"paper dataset: {dataset.train['diffraction'].shape[0]} + {dataset.test['diffraction'].shape[0]} patches")
    print(f"build (simulate + write + verify): {built_s:.2f} s   reuse (load + verify): {reuse_s:.2f} s")


if __name__ == "__main__":
    main()
