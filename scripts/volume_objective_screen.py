"""Screen of the volume objective: each slice against the target (the default) or the plane's statistics.

    .venv/bin/python scripts/volume_objective_screen.py                       # all seven, both objectives
    .venv/bin/python scripts/volume_objective_screen.py alloy,pmma perslice,pooled,pooled0.25

For the first held-out crop of each material, a 64³ volume by ``reconstruct_volume`` with its defaults and the
objective ``perslice`` (the mean over each plane's slices of Σ_r (f_slice - f_t)²), ``pooled`` (Σ_r (f̄ - f_t)², f̄
the mean of the plane's slices' f: the volume's statistics in that plane) or ``pooledW`` (pooled + W x the slices'
variance about f̄).  Prints per run: seconds; the mean per-slice autocovariance error over |r| <= 16 per plane; the
error of the plane's statistics (f averaged over its slices); the lowest and highest descriptor ratio with and without
the clusters (utils.evaluation.volumes.slice_report).
"""
import json
import sys

import numpy as np

from utils.data.micrographs import MATERIALS, MicrographSpec
from utils.evaluation.micro import score
from utils.evaluation.volumes import _slices, slice_report
from utils.inverse.volumes import reconstruct_volume
from utils.statistics.crops import CropStatistics, crop_statistics
from utils.statistics.planes import PLANES


def plane_errors(volume: np.ndarray, crop: np.ndarray, cutoff: int = 16) -> list[float]:
    """Per plane: the error of the slices' mean statistics against the crop's."""
    truth = crop_statistics(crop[None], cutoff=cutoff)
    out = []
    for plane in PLANES:
        mean = CropStatistics.from_raw(crop_statistics(_slices(volume, plane), cutoff=cutoff).raw.mean(0, keepdims=True),
                                       cutoff)
        out.append(round(float(score(truth, mean, ["x"], "v")["autocovariance_mse"].iloc[0]), 5))
    return out


def main() -> None:
    materials = sys.argv[1].split(",") if len(sys.argv) > 1 else sorted(MATERIALS)
    modes = sys.argv[2].split(",") if len(sys.argv) > 2 else ["perslice", "pooled"]
    images, labels = MicrographSpec().generate()
    for material in materials:
        i = np.flatnonzero((labels["split"].to_numpy() == "test") & (labels["material"].to_numpy() == material))[0]
        crop = images[i].astype(np.float32)
        for mode in modes:
            v = reconstruct_volume(crop, pooled=mode.startswith("pooled"), spread=float(mode[6:] or 0), progress=False)
            report = slice_report(v.volume, [crop] * 3)
            cols = [c for c in report.columns if c not in ("autocovariance_mse", "phase_fraction")]
            row = {"s": round(v.seconds, 1), "per_slice": report["autocovariance_mse"].round(5).tolist(),
                   "plane": plane_errors(v.volume, crop),
                   "descriptors": [round(float(report[cols].min().min()), 2), round(float(report[cols].max().max()), 2)],
                   "without_clusters": [round(float(report[cols[:5]].min().min()), 2),
                                        round(float(report[cols[:5]].max().max()), 2)]}
            print(material, mode, json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
