"""Runs inside the separate MCRpy environment (``.venv-mcrpy``, made by bench_mcrpy.py): reconstructs each
crop of an input .npz from its own two-point correlations and volume fractions with MCRpy, and writes
the reconstructions and the seconds each took.  Not imported by the project (MCRpy needs TensorFlow and
NumPy 2; the project pins neither).

    .venv-mcrpy/bin/python tests/benchmarks/mcrpy_worker.py IN.npz OUT.npz --limit-to 16 --max-iter 500
"""
import argparse
import tempfile
import time

import numpy as np

np.product = np.prod        # removed in NumPy 2, still called by MCRpy 0.2.0's reconstruction

import mcrpy  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("inp")
    parser.add_argument("out")
    parser.add_argument("--limit-to", type=int, default=16)
    parser.add_argument("--max-iter", type=int, default=500)
    args = parser.parse_args()
    crops = np.load(args.inp)["crops"]                   # (n, H, W) phase labels 0 / 1
    folder = tempfile.mkdtemp(prefix="mcrpy-")
    kinds = ["Correlations", "VolumeFractions"]
    out, seconds = [], []
    for i, crop in enumerate(crops):
        start = time.perf_counter()
        micro = mcrpy.Microstructure(crop.astype(np.int64), use_multiphase=True)
        described = mcrpy.characterize(micro, mcrpy.CharacterizationSettings(
            descriptor_types=kinds, limit_to=args.limit_to, periodic=False, target_folder=folder))
        settings = mcrpy.ReconstructionSettings(descriptor_types=kinds, limit_to=args.limit_to, periodic=False,
                                                use_multiphase=True, max_iter=args.max_iter, optimizer_type="LBFGSB",
                                                target_folder=folder)
        _, last = mcrpy.reconstruct(described, crop.shape, settings)
        out.append(np.asarray(last.decode_phases()).reshape(crop.shape))
        seconds.append(time.perf_counter() - start)
        print(f"mcrpy crop {i + 1}/{len(crops)}: {seconds[-1]:.1f} s", flush=True)
    np.savez(args.out, reconstructions=np.stack(out), seconds=np.array(seconds))


if __name__ == "__main__":
    main()
