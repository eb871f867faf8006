"""Screen descriptors beyond two-point statistics in the objective of the limit (reconstruction from statistics).

    .venv/bin/python scripts/connectivity_screen.py                    # the table of docs/experiments.md
    .venv/bin/python scripts/connectivity_screen.py --per-material 1 --settings "" euler:0.01

Each setting reconstructs the first ``--per-material`` held-out crops of each material (the micro profile's
dataset) from their own non-periodic statistics with ``Objective(periodic=False, higher=NAME, higher_weight=W)``
("NAME:W"; "" is the two-point objective alone, the default) and prints the normalised autocovariance error over
|r| <= 16, the seconds per crop, the mean difference in degrees between the copolymer reconstructions' direction of
lamellae and the originals' (utils.statistics.descriptors.orientation), and per material the ratios to the originals
of the descriptors no setting optimises (interfaces, chords, clusters of each phase; 1 = equal).
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from utils.data.micrographs import MicrographSpec
from utils.evaluation.micro import first_per_material, score
from utils.inverse.inversion import reconstruct_from_statistics
from utils.statistics.crops import crop_statistics
from utils.statistics.descriptors import angle_difference, describe, descriptor_ratios, orientation
from utils.statistics.objective import Objective

SETTINGS = ("", "gram:3", "gram:30", "lineal_path:1", "euler:0.01")


def objective_of(setting: str) -> Objective:
    """The objective of a setting "NAME:WEIGHT" ("" : two-point statistics alone)."""
    if not setting:
        return Objective(periodic=False)
    name, weight = setting.split(":")
    return Objective(periodic=False, higher=name, higher_weight=float(weight))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-material", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--settings", nargs="*", default=list(SETTINGS))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    images, labels = MicrographSpec().generate()
    test = np.flatnonzero(labels["split"].to_numpy() == "test")
    chosen = test[first_per_material(test, list(labels["material"].to_numpy()[test]), args.per_material)]
    crops, materials = images[chosen].astype(np.float32), list(labels["material"].to_numpy()[chosen])
    truth, described = crop_statistics(crops, cutoff=16), describe(crops)
    angles = orientation(crops)[0]
    copolymer = np.array([m == "copolymer" for m in materials])
    for setting in args.settings:
        start = time.perf_counter()
        out = reconstruct_from_statistics(crops, objective=objective_of(setting), progress=False)
        seconds = (time.perf_counter() - start) / len(crops)
        rows = score(truth, crop_statistics(out.images, cutoff=16), materials, setting)
        turned = np.nanmean(angle_difference(orientation(out.images)[0][copolymer], angles[copolymer]))
        print(f"== {setting or 'two-point statistics alone'}: autocovariance error {rows['autocovariance_mse'].mean():.4f}, "
              f"{seconds:.2f} s per crop, copolymer lamellae turned by {turned:.1f} degrees")
        print(descriptor_ratios(describe(out.images), described, materials).round(2).to_string(), flush=True)


if __name__ == "__main__":
    main()
