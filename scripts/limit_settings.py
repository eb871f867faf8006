"""Screen the settings of the non-periodic limit (reconstruction from statistics) on held-out micrograph crops.

    .venv/bin/python scripts/limit_settings.py                       # the table of docs/experiments.md (issue 21)
    .venv/bin/python scripts/limit_settings.py --per-material 2 --threads 1

Each setting reconstructs the first ``--per-material`` held-out crops of each material (the micro
profile's dataset) from their own non-periodic statistics and prints, per material, the normalised
autocovariance error over |r| <= 16 and the interface density of the reconstruction over the
original's (utils.descriptors; a check of the short range that a grey optimum can miss), with the seconds per crop.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from utils.descriptors import describe, descriptor_ratios
from utils.inversion import reconstruct_from_statistics
from utils.micro import crop_statistics, first_per_material, score
from utils.micrographs import MicrographSpec

SETTINGS = {   # label -> keyword arguments of reconstruct_from_statistics(periodic=False)
    "defaults (2,000 steps, lr 0.15, binarised)": {},
    "not binarised": dict(binarised=False),
    "lr 0.3": dict(lr=0.3),
    "1,000 steps": dict(steps=1000),
    "with the narrow term (sharp_eps 0.1, lr 0.3)": dict(sharp_eps=0.1, lr=0.3, binarised=False),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-material", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    images, labels = MicrographSpec().generate()
    test = np.flatnonzero(labels["split"].to_numpy() == "test")
    chosen = test[first_per_material(test, list(labels["material"].to_numpy()[test]), args.per_material)]
    crops, materials = images[chosen].astype(np.float32), list(labels["material"].to_numpy()[chosen])
    truth, described = crop_statistics(crops, cutoff=16), describe(crops)
    for label, kwargs in SETTINGS.items():
        start = time.perf_counter()
        out = reconstruct_from_statistics(crops, periodic=False, progress=False, **kwargs)
        seconds = (time.perf_counter() - start) / len(crops)
        rows = score(truth, crop_statistics(out.images, cutoff=16), materials, label)
        interfaces = descriptor_ratios(describe(out.images), described, materials)["interface_density"]
        per = rows.groupby("material")["autocovariance_mse"].mean()
        print(f"{label}: autocovariance error {rows['autocovariance_mse'].mean():.4f}, phase-fraction difference "
              f"{rows['vf_diff'].mean():.2f} points, {seconds:.2f} s per crop")
        print("   error     " + " ".join(f"{m[:9]:>9s} {v:.4f}" for m, v in per.items()))
        print("   interface " + " ".join(f"{m[:9]:>9s} {v:6.2f}" for m, v in interfaces.items()), flush=True)


if __name__ == "__main__":
    main()
