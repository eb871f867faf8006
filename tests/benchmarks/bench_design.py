"""Benchmark: one design from one target, in the latent space against directly in the pixels.

    .venv/bin/python tests/benchmarks/bench_design.py [--rounds 3] [--threads 1]

The target is a 64-px crop of the shipped ceramics micrograph: its volume fraction, anisotropy and
non-periodic statistics.  Side by side in one run, on the micro profile's VAE (untrained weights:
the cost does not depend on them):

* ``latent design``: :func:`utils.inverse.design.design_in_latent_space`, ``DESIGN_RESTARTS`` = 16 starts
  of ``DESIGN_STEPS`` = 150 Adam steps on the 9 numbers of z, batched (notebook 08's defaults);
* ``from statistics``: :func:`utils.inverse.inversion.reconstruct_from_statistics`, one start of
  ``NONPERIODIC_STEPS`` Adam steps on the 4,096 pixels (notebooks 07 and 08).

Prints the seconds of each (median of ``--rounds``) and their ratio.  Not collected by pytest; the
README quotes it.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from utils.data.micrographs import as_vae_images, load_micrograph
from utils.inverse.design import DesignTarget, design_in_latent_space, properties, soft_properties
from utils.inverse.inversion import reconstruct_from_statistics
from utils.statistics.objective import Objective
from utils.training.config import config_for
from utils.training.models import build_vae


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds, the median is printed")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = config_for("micro")
    torch.manual_seed(0)
    model = build_vae(cfg.model).eval()
    crop = as_vae_images(load_micrograph("ceramics")[:64, :64])
    objective = cfg.objective()
    p = properties(crop[None], objective=objective).iloc[0]
    f = soft_properties(torch.as_tensor(crop[None], dtype=torch.float64), objective=objective,
                        temperature=0.0)["statistics"][0].float().numpy()
    target = DesignTarget(volume_fraction=float(p["volume_fraction"]), anisotropy=float(p["anisotropy"]), statistics=f)
    anything = {"volume_fraction": (0, 1), "anisotropy": (0, np.inf)}

    def latent() -> None:
        design_in_latent_space(model, objective, target, reachable=anything)

    def pixels() -> None:
        reconstruct_from_statistics(crop[None], objective=Objective(periodic=False),
                                    progress=False)

    times = {"latent design": [], "from statistics": []}
    for _ in range(args.rounds):
        for name, fn in (("latent design", latent), ("from statistics", pixels)):
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    median = {name: statistics.median(t) for name, t in times.items()}
    print(f"one target, {torch.get_num_threads()} thread(s), median of {args.rounds}:")
    for name, value in median.items():
        print(f"  {name:16s} {value:7.2f} s")
    print(f"  ratio: latent design takes {median['latent design'] / median['from statistics']:.2f}x the time "
          f"of the reconstruction from statistics")


if __name__ == "__main__":
    main()
