"""How close can a volume's slices come to one micrograph? Measured on volumes whose truth is known.

    .venv/bin/python scripts/volume_truth.py                      # 2 kinds x 3 seeds at 64³ (about 2 min on 2 cores)
    .venv/bin/python scripts/volume_truth.py --kinds spheres --seeds 0 --size 48

Notebook 09 compares a reconstructed volume's slices with the micrograph they were drawn from and with the 2D limit
(the micrograph drawn again as a 2D image from its own statistics).  Whether "as close as the 2D limit" is within
reach of any volume is a question about the yardstick, and it has an answer where the true volume is known: take an
isotropic 3D structure, cut one section as the micrograph, and score the true volume's own slices against it by the
same measures.  Two isotropic truths of (size)³ voxels, phase 0 as everywhere:

* ``field``: a Gaussian random field (an isotropic Gaussian filter, :func:`utils.inverse.volumes.volume_field`)
  thresholded at a phase-0 fraction of 0.35: a bicontinuous texture, of the same family as the reconstruction's
  start field, so the easy case;
* ``spheres``: overlapping spheres of radius 4 voxels (phase 0, a Boolean model) filling about 0.25 of the volume:
  particles, some touching, below the fraction at which they would connect through the volume.

The micrograph is the truth's middle ``xy`` section.  For each truth and seed the script prints
:func:`utils.evaluation.volumes.truth_comparison` (errors over |r| <= 16 against the micrograph: the 2D limit, the
true volume's slices and those of ``reconstruct_volume(micrograph)`` at its defaults, with their descriptors and
connectivity), then the ratios of the worst plane's slices over the seeds.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
import torch

from utils.data.synthetic import overlapping_spheres
from utils.evaluation.volumes import middle_section, truth_comparison
from utils.inverse.volumes import reconstruct_volume, volume_field


def field_truth(size: int, seed: int) -> np.ndarray:
    """(size, size, size) uint8: an isotropic Gaussian random field thresholded at a phase-0 fraction of 0.35, its
    interface density 0.12 per voxel along every axis."""
    return volume_field(0.35, np.full(3, 0.12), (size,) * 3, seed=seed).astype(np.uint8)


def sphere_truth(size: int, seed: int) -> np.ndarray:
    """(size, size, size) uint8: overlapping spheres of radius 4 voxels (phase 0) filling about 0.25 of the volume
    (:func:`utils.data.synthetic.overlapping_spheres`)."""
    return overlapping_spheres(size, radius=4, matrix_fraction=0.75, seed=seed)


TRUTHS = {"field": field_truth, "spheres": sphere_truth}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kinds", default="field,spheres", help="comma-separated: field, spheres")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds of the truths")
    parser.add_argument("--size", type=int, default=64, help="side of the truths and of the reconstructions (voxels)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    tables = {}
    for kind in args.kinds.split(","):
        for seed in [int(s) for s in args.seeds.split(",")]:
            truth = TRUTHS[kind](args.size, seed)
            start = time.perf_counter()
            drawn = reconstruct_volume(middle_section(truth), truth.shape, seed=seed, progress=False).volume
            table = truth_comparison(truth, drawn, seed=seed)
            table["seconds"] = [np.nan, np.nan, time.perf_counter() - start]
            tables[(kind, seed)] = table
            print(f"{kind}, seed {seed} (phase 0 {1 - truth.mean():.3f}):\n{table.round(4).to_string()}\n", flush=True)
    both = pd.concat(tables)
    worst = both.xs("slices, worst plane", axis=1).unstack()
    print("worst plane's slices, over the seeds: truth / 2D limit "
          f"{(worst['true volume'] / worst['2D limit']).min():.1f}-{(worst['true volume'] / worst['2D limit']).max():.1f}x, "
          f"reconstruction / truth {(worst['reconstruction'] / worst['true volume']).min():.2f}-"
          f"{(worst['reconstruction'] / worst['true volume']).max():.2f}x")


if __name__ == "__main__":
    main()
