"""Benchmark: a volume from one micrograph crop by MCRpy's own 3D reconstruction, beside ours.

    .venv/bin/python tests/benchmarks/bench_mcrpy_volume.py                  # the alloy, 32³ and 64³
    .venv/bin/python tests/benchmarks/bench_mcrpy_volume.py --sizes 32 --max-iter 100       # a quick look
    .venv/bin/python tests/benchmarks/bench_mcrpy_volume.py --material ceramics --descriptors correlations

On the first held-out 64² crop of ``--material`` (the micro profile's dataset, as in bench_volume.py), for each size S
of ``--sizes``, an S³ volume (D, H, W) = (z, y, x) of 0 (phase 0) and 1 whose slices across each axis should have the
crop's statistics (one micrograph: isotropy assumed), made twice:

* ``ours``: :func:`utils.inverse.volumes.reconstruct_volume` with its defaults (``VOLUME_STEPS`` Adam steps; the window
  |r| <= min(``VOLUME_CUTOFF``, (S - 1) // 2), e.g. 15 at 32³; the target's phase fraction exactly);
* ``MCRpy``: its main branch (``.venv-mcrpy-main``, made by bench_mcrpy.py, whose ``--mcrpy-source`` this script takes
  too) through tests/benchmarks/mcrpy_worker.py ``--shape-3d S S S``: MCRpy characterises the crop in 2D and
  reconstructs with a 3D desired shape; ``FFTCorrelations`` (``--descriptors correlations``: ``Correlations``) beside
  ``VolumeFractions`` at MCRpy's default weights, ``limit_to=16`` (|r| <= 15), non-periodic, L-BFGS-B with
  ``--max-iter`` loss evaluations (MCRpy's default 500; SciPy's limit, which it passes by one).  The volume is MCRpy's
  decoded phases (the larger of its two phase indicators at each voxel), as bench_mcrpy.py takes its 2D images, so its
  phase fraction is its own.

How MCRpy treats the slices: a 2D characterisation is one descriptor (isotropic), the target of every slice across each
of the three axes; one loss evaluation is the sum over all 3 S slices of the slice's own loss (the mean square of the
weighted differences of its descriptors from the target's, with MCRpy's range penalties), and its gradient is summed
slice by slice (``mcrpy/src/loss_computation.py``, ``make_3d_gradients``), not a loss of the slices' mean descriptor.
So a loss evaluation costs 3 S slice gradients, each taken through the whole volume.  On 2 cores (AVX-512), 500
evaluations of ``FFTCorrelations`` took 282 s at 32³ and 1,142 s at 64³ (docs/experiments.md); one of
``Correlations`` about 6 s at 32³, with another job sharing the cores (500: some 50 minutes).  ``FFTCorrelations`` need S >= 31.

Prints one table, a column per method and size: seconds (MCRpy's include its characterisation and its TensorFlow
start-up inside the worker), peak memory (ours: this process's resident peak so far, the dataset included; MCRpy: its
worker's), the steps or loss evaluations, the phase-0 fraction beside the crop's, and the slices' scores against the
crop (:func:`utils.evaluation.volumes.slice_report`, planes yz, xz, xy): the largest autocovariance error over the
three planes, and for each descriptor ratio (the slices' mean over the crop's, 1 = equal) its smallest and largest over
the planes; then each volume's :func:`utils.evaluation.volumes.connectivity_table` and MCRpy's seconds over ours.
Timed on this machine: run it with the cores to itself (beside another job, torch on 2 threads ran ours 3-24x slower
than on one: pass ``--threads 1`` then).  Not collected by pytest, and left out of ``make bench`` (it needs MCRpy's
environment).
"""
from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))       # this checkout's utils, wherever .venv's points
from utils.evaluation.volumes import SLICE_COLUMNS, connectivity_table, slice_report
from utils.inverse.volumes import VOLUME_CUTOFF, VOLUME_STEPS, reconstruct_volume

from bench_mcrpy import COMMIT_FILE, DESCRIPTOR_NAMES, ENVS, main_python, run_worker     # this script's folder
from bench_volume import first_crop

LIMIT_TO = 16       # MCRpy's window: |r| <= LIMIT_TO - 1, as in bench_mcrpy.py


def _peak_mib() -> float:
    """This process's largest resident memory so far (MiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def quality(volume: np.ndarray, crop: np.ndarray) -> dict[str, float | str]:
    """The phase-0 fraction of ``volume`` (D, H, W) of 0 / 1 and its slices' scores against ``crop`` (H, W) in
    [0, 1]: the largest autocovariance error over the planes, each descriptor ratio's smallest-largest over them."""
    report = slice_report(volume, [crop, crop, crop])
    return {"phase-0 fraction": float((volume == 0).mean()),
            "autocovariance error (worst plane)": float(report["autocovariance_mse"].max()),
            **{f"{c} ratio (planes)": f"{report[c].min():.3g}-{report[c].max():.3g}" for c in SLICE_COLUMNS}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--material", default="alloy")
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 64], help="volume sides S (S³ voxels)")
    parser.add_argument("--max-iter", type=int, default=500, help="MCRpy's L-BFGS-B loss evaluations (its default)")
    parser.add_argument("--descriptors", choices=["fft-correlations", "correlations"], default="fft-correlations",
                        help="MCRpy's two-point correlations")
    parser.add_argument("--threads", type=int, default=0,
                        help="threads of torch (ours) and of TensorFlow (MCRpy's worker); 0: their defaults")
    parser.add_argument("--mcrpy-source", type=Path,
                        help="a copy of MCRpy's repository whose HEAD is installed as the main branch (bench_mcrpy.py)")
    args = parser.parse_args()
    if args.descriptors == "fft-correlations" and min(args.sizes) < 2 * LIMIT_TO - 1:
        raise SystemExit(f"MCRpy's FFTCorrelations need volumes of at least {2 * LIMIT_TO - 1}³ "
                         f"(limit_to={LIMIT_TO}); got --sizes {args.sizes}")
    if args.threads:
        torch.set_num_threads(args.threads)
    python, commit = main_python(args.mcrpy_source)
    print(f"MCRpy main branch: commit {commit} ({ENVS['main'] / COMMIT_FILE})", flush=True)
    mcrpy_name = f"MCRpy main@{commit[:7]} {DESCRIPTOR_NAMES[args.descriptors]}"

    crop = first_crop(args.material)
    print(f"{args.material}: first held-out crop {crop.shape[0]}x{crop.shape[1]}, phase-0 fraction "
          f"{(crop < 0.5).mean():.4f}; torch threads {torch.get_num_threads()}, TensorFlow's "
          f"{args.threads or 'default'}", flush=True)
    columns, volumes, seconds = {}, {}, {}
    for size in args.sizes:
        print(f"== ours {size}³: {VOLUME_STEPS} Adam steps, |r| <= {min(VOLUME_CUTOFF, (size - 1) // 2)}", flush=True)
        out = reconstruct_volume(crop, shape=(size,) * 3, progress=False)
        name = f"ours {size}³"
        volumes[name], seconds[name] = out.volume, out.seconds
        columns[name] = {"seconds": out.seconds, "peak memory (MiB)": _peak_mib(),
                         "steps or loss evaluations": VOLUME_STEPS, **quality(out.volume, crop)}
        print(f"{out.seconds:.1f} s", flush=True)

        print(f"== {mcrpy_name} {size}³: {args.max_iter} loss evaluations, limit_to={LIMIT_TO}", flush=True)
        start = time.perf_counter()
        result = run_worker(python, crop[None], ["--descriptors", args.descriptors, "--limit-to", str(LIMIT_TO),
                                                 "--max-iter", str(args.max_iter), "--shape-3d", *[str(size)] * 3,
                                                 "--threads", str(args.threads)])
        name = f"MCRpy {size}³"
        if result is None:
            print(f"MCRpy failed after {time.perf_counter() - start:.0f} s; left out", flush=True)
            continue
        volume = result["reconstructions"][0].astype(np.uint8)          # its phase labels: 0 = phase 0
        volumes[name], seconds[name] = volume, float(result["seconds"][0])
        columns[name] = {"seconds": seconds[name], "peak memory (MiB)": float(result["peak_mib"]),
                         "steps or loss evaluations": int(result["evaluations"][0]), **quality(volume, crop)}

    def cell(value) -> str:
        return value if isinstance(value, str) else f"{value:.4g}"

    print(f"\n{args.material}, first held-out crop (phase-0 fraction {(crop < 0.5).mean():.4f}); ours: "
          f"reconstruct_volume, its defaults; {mcrpy_name} (commit {commit}): limit_to={LIMIT_TO}, non-periodic, "
          f"L-BFGS-B, {args.max_iter} loss evaluations")
    print(pd.DataFrame(columns).map(cell).to_string())
    for name, volume in volumes.items():
        print(f"\nshare of each phase's voxels in clusters spanning the volume, {name}")
        print(connectivity_table(volume).to_string(float_format=lambda v: f"{v:.3g}"))
    print()
    for size in args.sizes:
        if f"MCRpy {size}³" in seconds:
            print(f"{size}³ seconds: MCRpy / ours = {seconds[f'MCRpy {size}³'] / seconds[f'ours {size}³']:.3g}x")


if __name__ == "__main__":
    main()
