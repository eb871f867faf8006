"""Screen the settings of the non-periodic limit (reconstruction from statistics) on held-out micrograph crops.

    .venv/bin/python scripts/limit_settings.py                       # the table of docs/experiments.md ("Real microstructures, second pass")
    .venv/bin/python scripts/limit_settings.py --per-material 2 --threads 1
    .venv/bin/python scripts/limit_settings.py --lines 500        # notebook 04's limit on the cpu profile's lines

Each setting reconstructs the first ``--per-material`` held-out crops of each material (the micro
profile's dataset) from their own non-periodic statistics and prints, per material, the normalised
autocovariance error over |r| <= 16, and the interface density and the clusters of phase 0 of the
reconstruction over the original's (utils.statistics.descriptors; the short range that a grey optimum can miss, and the
connectivity no two-point statistic fixes), with the seconds per crop.  The last setting sees only the window
|r| <= 16 that the statistics VAE's first design decoded (it now decodes |r| <= 31) (utils.inverse.drawing), so it tells the window's share of what that
model's drawings miss from the decoder's.
With ``--lines N``: the first N test images of the cpu profile's lines (generated in data/ if missing)
reconstructed as notebook 04 does (periodic, the paper's loss, LIMIT_STEPS at LIMIT_LR, LIMIT_RESTARTS
starts), and the share whose lines are counted right, beside cheaper settings.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from utils.data.micrographs import MicrographSpec
from utils.data.store import ensure_dataset, load_dataset
from utils.evaluation.metrics import count_lines, threshold_image
from utils.evaluation.micro import first_per_material, score
from utils.inverse.inversion import LIMIT_RESTARTS, reconstruct_from_statistics
from utils.inverse.targets import Windows
from utils.project import data_dir
from utils.statistics.crops import crop_statistics
from utils.statistics.descriptors import describe, descriptor_ratios
from utils.statistics.objective import Objective
from utils.training.config import config_for
from utils.training.runs import dataset_split

SETTINGS = {   # label -> keyword arguments of reconstruct_from_statistics(objective=Objective(periodic=False))
    "defaults (2,000 steps, lr 0.15, binarised after a 0.6-px blur)": {},
    "binarised without the blur": dict(binarise_sigma=0.0),
    "not binarised": dict(binarised=False),
    "lr 0.3": dict(lr=0.3),
    "1,000 steps": dict(steps=1000),
    "with the narrow term (sharp_eps 0.1, lr 0.3)": dict(objective=Objective(periodic=False, sharp_eps=0.1), lr=0.3,
                                                         binarised=False),
}


LINE_SETTINGS = {   # label -> keyword arguments of reconstruct_from_statistics (periodic)
    f"notebook 04 ({LIMIT_RESTARTS} starts)": dict(restarts=LIMIT_RESTARTS),
    "2 starts": dict(restarts=2),
    "1 start": dict(restarts=1),
}


def lines(n: int) -> None:
    """Notebook 04's limit on the first ``n`` test images of the cpu profile's lines, and cheaper settings."""
    cfg = config_for("cpu", data_dir=str(data_dir()))
    images, labels = load_dataset(ensure_dataset(cfg.dataset, cfg.data_dir))
    test = dataset_split(cfg)["test"][:n]
    originals, truth = np.asarray(images[test], dtype=np.float32), labels["n_lines"].to_numpy()[test]
    for label, kwargs in LINE_SETTINGS.items():
        start = time.perf_counter()
        out = reconstruct_from_statistics(originals, progress=False, **kwargs)
        seconds = (time.perf_counter() - start) / len(originals)
        right = np.mean([count_lines(threshold_image(x)) == t for x, t in zip(out.images, truth)])
        print(f"{label}: line count right {100 * right:.1f} % of {len(originals)}, {seconds:.2f} s per image", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-material", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--lines", type=int, default=0, help="instead: notebook 04's limit on this many line images")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.lines:
        lines(args.lines)
        return
    images, labels = MicrographSpec().generate()
    test = np.flatnonzero(labels["split"].to_numpy() == "test")
    chosen = test[first_per_material(test, list(labels["material"].to_numpy()[test]), args.per_material)]
    crops, materials = images[chosen].astype(np.float32), list(labels["material"].to_numpy()[chosen])
    truth, described = crop_statistics(crops, cutoff=16), describe(crops)
    window = config_for("micro", "statistics_vae").cutoff        # the window the micro profile's statistics VAE decodes
    runs = {label: (crops, {"objective": Objective(periodic=False), **kwargs}) for label, kwargs in SETTINGS.items()}
    runs[f"defaults, only the window |r| <= {window} (the statistics VAE's)"] = (
        Windows(crop_statistics(crops, cutoff=window).maps("raw"), crops.shape[1:]), dict(objective=Objective(periodic=False, cutoff=window)))
    for label, (target, kwargs) in runs.items():
        start = time.perf_counter()
        out = reconstruct_from_statistics(target, progress=False, **kwargs)
        seconds = (time.perf_counter() - start) / len(crops)
        rows = score(truth, crop_statistics(out.images, cutoff=16), materials, label)
        ratios = descriptor_ratios(describe(out.images), described, materials)
        per = rows.groupby("material")["autocovariance_mse"].mean()
        print(f"{label}: autocovariance error {rows['autocovariance_mse'].mean():.4f}, phase-fraction difference "
              f"{rows['vf_diff'].mean():.2f} points, {seconds:.2f} s per crop")
        print("   error     " + " ".join(f"{m[:9]:>9s} {v:.4f}" for m, v in per.items()))
        for name, column in (("interface", "interface_density"), ("clusters0", "clusters0")):
            print(f"   {name:9s} " + " ".join(f"{m[:9]:>9s} {v:6.2f}" for m, v in ratios[column].items()), flush=True)


if __name__ == "__main__":
    main()
