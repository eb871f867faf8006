"""Benchmark: a volume from one micrograph crop, beside the 2D limit's time per crop.

    .venv/bin/python tests/benchmarks/bench_volume.py                  # 64³ and 128³ from the alloy's first held-out crop
    .venv/bin/python tests/benchmarks/bench_volume.py --sizes 64 --material ceramics --threads 2

Side by side in one run, on the first held-out 64² crop of ``--material`` (the micro profile's dataset):

* ``2D limit``: :func:`utils.inverse.inversion.reconstruct_from_statistics` of that crop alone (its defaults:
  2,000 steps, every offset), the 2D cost of the same statistics;
* ``volume S³``: :func:`utils.inverse.volumes.reconstruct_volume` of the crop for each size S of ``--sizes`` (its
  defaults: ``VOLUME_STEPS`` Adam steps, the window |r| <= ``VOLUME_CUTOFF``), with the peak memory the process
  reached (resident set, after the run).

Prints seconds for each and the ratio of each volume to the 2D limit; the README and docs/performance.md quote it.
Not collected by pytest.
"""
from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import torch

from utils.data.micrographs import MicrographSpec
from utils.inverse.inversion import reconstruct_from_statistics
from utils.inverse.volumes import VOLUME_CUTOFF, VOLUME_STEPS, reconstruct_volume
from utils.statistics.objective import Objective


def first_crop(material: str) -> np.ndarray:
    """The first held-out crop of ``material`` (64², 0 / 1)."""
    images, labels = MicrographSpec().generate()
    chosen = np.flatnonzero((labels["split"].to_numpy() == "test") & (labels["material"].to_numpy() == material))
    if not len(chosen):
        raise SystemExit(f"no held-out crop of {material!r}; choose one of {sorted(set(labels['material']))}")
    return images[chosen[0]].astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--material", default="alloy")
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    crop = first_crop(args.material)
    start = time.perf_counter()
    reconstruct_from_statistics(crop[None], objective=Objective(periodic=False), progress=False)
    limit = time.perf_counter() - start
    print(f"{args.material}, {torch.get_num_threads()} threads; 2D limit of one 64² crop: {limit:.2f} s")
    for size in args.sizes:
        out = reconstruct_volume(crop, shape=(size,) * 3, progress=False)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"volume {size}³ ({VOLUME_STEPS} steps, |r| <= {min(VOLUME_CUTOFF, (size - 1) // 2)}): {out.seconds:.1f} s "
              f"= {out.seconds / limit:.0f}x the 2D limit's crop; loss {out.start_loss:.3g} -> {out.loss:.3g}; "
              f"peak memory {peak:.0f} MiB", flush=True)


if __name__ == "__main__":
    main()
