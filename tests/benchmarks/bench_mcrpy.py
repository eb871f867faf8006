"""Reconstruction from statistics, side by side with MCRpy on its own example micrographs (docs/experiments.md, "MCRpy side by side").

    .venv/bin/python tests/benchmarks/bench_mcrpy.py                 # the first held-out crop of each material
    .venv/bin/python tests/benchmarks/bench_mcrpy.py --per-material 2 --max-iter 500

The same 64-px held-out crops of the seven shipped micrographs (which are MCRpy's example set) are
reconstructed by both: ours, ``utils.reconstruct_from_statistics(objective=Objective(periodic=False))`` with its defaults,
batched; MCRpy 0.2.0 with ``Correlations`` + ``VolumeFractions``, ``limit_to=16``, non-periodic,
L-BFGS-B, ``--max-iter`` iterations, one crop at a time.  MCRpy lives in a separate environment,
``.venv-mcrpy`` (git-ignored), which this script creates (a venv of the interpreter running it, then
pip) on first use: it brings TensorFlow and NumPy 2, which the project does not pin.  Both are scored
by descriptors of the binarised images (utils.statistics.descriptors: the chords and clusters neither optimised,
and the interface density) and by the normalised autocovariance error over |r| <= 16, and timed on
this machine; the script prints the table and the ratio of seconds per crop.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from utils.data.micrographs import MATERIALS, MicrographSpec
from utils.evaluation.micro import first_per_material, score
from utils.inverse.inversion import reconstruct_from_statistics
from utils.project import REPO
from utils.statistics.crops import crop_statistics
from utils.statistics.descriptors import describe, descriptor_ratios
from utils.statistics.objective import Objective

ENV = REPO / ".venv-mcrpy"
WORKER = Path(__file__).with_name("mcrpy_worker.py")


MCRPY = "mcrpy==0.2.0"      # the version whose np.product the worker patches


def mcrpy_python() -> Path:
    """The MCRpy environment's python: a venv of this interpreter with ``pip install mcrpy==0.2.0``, made (again)
    when it is missing or cannot import MCRpy."""
    python = ENV / "bin" / "python"
    if not python.exists() or subprocess.run([str(python), "-c", "import mcrpy"], capture_output=True).returncode:
        print(f"creating {ENV} with {MCRPY} (TensorFlow, NumPy 2: a few minutes, once)", flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(ENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", MCRPY], check=True)
    return python


def held_out_crops(per_material: int) -> tuple[np.ndarray, list[str]]:
    """The first ``per_material`` held-out crops of each material of the micro profile's dataset (0/1 images)."""
    images, labels = MicrographSpec().generate()
    test = np.flatnonzero(labels["split"].to_numpy() == "test")
    materials = labels["material"].to_numpy()[test]
    chosen = test[first_per_material(test, list(materials), per_material)]
    return images[chosen].astype(np.float32), list(labels["material"].to_numpy()[chosen])


def scores(name: str, originals: np.ndarray, recons: np.ndarray, materials: list[str], seconds: float) -> dict:
    rows = score(crop_statistics(originals, cutoff=16), crop_statistics(recons, cutoff=16), materials, name)
    ratios = descriptor_ratios(describe(recons), describe(originals), materials)
    return {"method": name, "autocovariance_mse": rows["autocovariance_mse"].mean(), "vf_diff": rows["vf_diff"].mean(),
            **{f"{c} ratio (geo. mean)": float(np.exp(np.log(ratios[c].clip(lower=1e-3)).mean())) for c in ratios},
            "worst interface ratio": float(ratios["interface_density"].iloc[
                np.argmax(np.abs(np.log(ratios["interface_density"].clip(lower=1e-3))))]),
            "seconds per crop": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-material", type=int, default=1, help="held-out crops of each material")
    parser.add_argument("--max-iter", type=int, default=500, help="MCRpy's L-BFGS-B iterations (its default)")
    args = parser.parse_args()
    originals, materials = held_out_crops(args.per_material)
    print(f"{len(originals)} crops of {originals.shape[1]} px: {', '.join(sorted(MATERIALS))}", flush=True)
    start = time.perf_counter()
    ours = reconstruct_from_statistics(originals, objective=Objective(periodic=False), progress=False)        # its defaults
    ours_seconds = (time.perf_counter() - start) / len(originals)
    with tempfile.TemporaryDirectory() as tmp:
        inp, out = Path(tmp) / "crops.npz", Path(tmp) / "mcrpy.npz"
        np.savez(inp, crops=(originals >= 0.5).astype(np.int64))     # phase labels: 0 = phase 0
        subprocess.run([str(mcrpy_python()), str(WORKER), str(inp), str(out), "--limit-to", "16",
                        "--max-iter", str(args.max_iter)], check=True)
        result = np.load(out)
        theirs, their_seconds = result["reconstructions"].astype(np.float32), float(result["seconds"].mean())
    table = pd.DataFrame([scores("ours (reconstruct_from_statistics)", originals, ours.images, materials, ours_seconds),
                          scores(f"MCRpy ({args.max_iter} L-BFGS-B iterations)", originals, theirs, materials,
                                 their_seconds)]).set_index("method").T
    print(table.to_string(float_format=lambda v: f"{v:.4g}"))
    print(f"\nseconds per crop: MCRpy / ours = {their_seconds / ours_seconds:.0f}x")


if __name__ == "__main__":
    main()
