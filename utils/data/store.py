"""A dataset on disk and its train / validation / test split.

On disk
-------
``folder/labels.csv`` (a column ``file`` and what the images are: ``orientation, n_lines`` for the
lines, ``material, source, split, y, x`` for micrograph crops), ``folder/images.npy`` (the ``uint8``
array of 0 = the phase of interest, 1 = the rest, read back memory-mapped) and, optionally,
``folder/images/000000.png ...`` (1-bit PNGs, that phase black on white).  A dataset folder is written atomically: it is built in
``<folder>.tmp-<pid>`` next to it and renamed at the end, so a folder holding ``labels.csv``
and ``images.npy`` with the same number of images is always complete.

Beside it: the spectra cache a periodic training reads (:mod:`utils.data.spectra`) and the torch view of a
run's images (:class:`utils.training.batches.LinesDataset`).
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from utils.checks import positive_int
from utils.data.lines import DatasetSpec
from utils.data.micrographs import MicrographSpec
from utils.progress import progress_bar

__all__ = ["save_dataset", "load_dataset", "is_complete_dataset", "ensure_dataset", "split_indices",
           "split_from_labels", "volume_fractions", "dataset_summary"]

_HOW_TO_CREATE = ("create it with utils.data.store.ensure_dataset(spec, root) (the lines: notebook 01 or make figures; "
                  "the micrograph crops: make micro)")


# ----------------------------------------------------------------------------- disk

def is_complete_dataset(folder: str | os.PathLike) -> bool:
    """True when ``folder`` holds ``labels.csv`` and ``images.npy`` agreeing on the number of images."""
    folder = Path(folder)
    labels_path, images_path = folder / "labels.csv", folder / "images.npy"
    if not (labels_path.is_file() and images_path.is_file()):
        return False
    try:
        n_images = np.load(images_path, mmap_mode="r").shape[0]
        n_labels = len(pd.read_csv(labels_path, usecols=["file"]))
    except (ValueError, OSError):
        return False
    return n_images == n_labels


def _check_images_labels(images: np.ndarray, labels: pd.DataFrame) -> None:
    if not isinstance(images, np.ndarray) or images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError("images must be a uint8 numpy array of shape (n, H, W), got "
                         f"{type(images).__name__} {getattr(images, 'dtype', '')} "
                         f"{getattr(images, 'shape', '')}; use the output of generate_lines")
    if "file" not in labels.columns:
        raise ValueError(f"labels lack the column 'file' (columns: {list(labels.columns)}); make them with "
                         "generate_lines or MicrographSpec.generate")
    if len(labels) != len(images):
        raise ValueError(f"{len(images)} images but {len(labels)} label rows; pass matching "
                         "images and labels")


def _write_pngs(folder: Path, images: np.ndarray, files: list[str], progress: bool) -> None:

    folder.mkdir()
    h, w = images.shape[1:]
    for image, name in zip(progress_bar(images, desc="writing PNGs", disable=not progress, unit="img"), files):
        bits = np.packbits(image, axis=1)  # mode "1": bit 0 = black (line), bit 1 = white
        Image.frombytes("1", (w, h), bits.tobytes()).save(folder / name, compress_level=1)


def save_dataset(folder: str | os.PathLike, images: np.ndarray, labels: pd.DataFrame, *,
                 write_png: bool = True, overwrite: bool = False, progress: bool = False) -> Path:
    """Write a dataset to ``folder`` atomically and return ``folder`` as a Path.

    Writes ``labels.csv``, ``images.npy`` and (``write_png``) one 1-bit PNG per image under
    ``images/`` named by ``labels.file``.  Everything is built in ``<folder>.tmp-<pid>`` and
    renamed at the end; on error the temporary folder is removed.  Raises FileExistsError when
    ``folder`` already exists and is not empty, unless ``overwrite=True``.
    """
    _check_images_labels(images, labels)
    if int(images.max(initial=0)) > 1:
        raise ValueError("images must hold only 0 (line) and 1 (background); threshold them first")
    folder = Path(folder)
    if folder.exists() and any(folder.iterdir()) and not overwrite:
        what = "a complete dataset" if is_complete_dataset(folder) else "files"
        raise FileExistsError(f"{folder} already holds {what}; load it with load_dataset, "
                              "delete it, or pass overwrite=True")
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.with_name(f"{folder.name}.tmp-{os.getpid()}")
    old = folder.with_name(f"{folder.name}.old-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir()
        labels = labels.loc[:, ["file"] + [c for c in labels.columns if c != "file"]]
        if write_png:
            _write_pngs(tmp / "images", images, labels["file"].tolist(), progress)
        np.save(tmp / "images.npy", np.ascontiguousarray(images))
        labels.to_csv(tmp / "labels.csv", index=False)
        if folder.exists():
            folder.rename(old)
        tmp.rename(folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old.exists() and not folder.exists():
            old.rename(folder)
        raise
    shutil.rmtree(old, ignore_errors=True)
    return folder


def load_dataset(folder: str | os.PathLike, *, mmap: bool = True) -> tuple[np.ndarray, pd.DataFrame]:
    """Read a dataset written by :func:`save_dataset`.

    Returns ``images`` (``uint8``, shape (n, H, W), read-only memory map when ``mmap``) and
    ``labels`` (``file`` and the columns it was saved with).  Raises FileNotFoundError when the
    folder or one of its files is missing, ValueError when they disagree.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"dataset folder {folder} does not exist; {_HOW_TO_CREATE}")
    for name in ("labels.csv", "images.npy"):
        if not (folder / name).is_file():
            raise FileNotFoundError(f"{folder / name} is missing, so {folder} is not a complete "
                                    f"dataset; delete it and {_HOW_TO_CREATE}")
    images = np.load(folder / "images.npy", mmap_mode="r" if mmap else None)
    labels = pd.read_csv(folder / "labels.csv", dtype={"file": str, "orientation": str})
    try:
        _check_images_labels(images, labels)
    except ValueError as err:
        raise ValueError(f"{folder} is inconsistent: {err}; delete it and {_HOW_TO_CREATE}") from None
    if "n_lines" in labels.columns:
        labels["n_lines"] = labels["n_lines"].astype(np.int64)
    return images, labels


def ensure_dataset(spec: DatasetSpec | MicrographSpec, root: str | os.PathLike = "data", *, progress: bool = True,
                   write_png: bool = True) -> Path:
    """Return ``root / spec.name``, generating and saving the dataset there first if needed.

    ``spec``: generated lines (:class:`utils.data.lines.DatasetSpec`) or crops of the shipped
    micrographs (:class:`utils.data.micrographs.MicrographSpec`).  A complete dataset of the right
    number of images is reused as is (its PNGs are not checked); anything else in that folder is
    replaced.
    """
    folder = Path(root) / spec.name
    if is_complete_dataset(folder) and np.load(folder / "images.npy", mmap_mode="r").shape == (
            spec.n_images, spec.size, spec.size):
        return folder
    images, labels = spec.generate(progress=progress)
    return save_dataset(folder, images, labels, write_png=write_png, overwrite=True, progress=progress)


# ----------------------------------------------------------------------------- splits

def split_indices(n: int, *, val_fraction: float = 0.2, test_fraction: float = 0.1,
                  seed: int = 0) -> dict[str, np.ndarray]:
    """Random train / val / test split of ``range(n)``.

    Returns ``{"train", "val", "test"}`` -> sorted ``int64`` index arrays, disjoint and together
    covering ``range(n)``; ``round(n * fraction)`` indices go to val and test, the rest to
    train.  Deterministic in ``seed``.
    """
    positive_int(n, "n")
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ValueError(f"need 0 <= val_fraction, test_fraction and val_fraction + test_fraction < 1, "
                         f"got {val_fraction} and {test_fraction}")
    n_val, n_test = round(n * val_fraction), round(n * test_fraction)
    if n - n_val - n_test < 1:
        raise ValueError(f"n={n} leaves no training images with val_fraction={val_fraction} and "
                         f"test_fraction={test_fraction}; use more images or smaller fractions")
    perm = np.random.default_rng(seed).permutation(n)
    return {"train": np.sort(perm[n_val + n_test:]), "val": np.sort(perm[n_test:n_test + n_val]),
            "test": np.sort(perm[:n_test])}


def split_from_labels(labels: pd.DataFrame, *, val_fraction: float = 0.2, seed: int = 0) -> dict[str, np.ndarray]:
    """Train / val / test indices of a dataset whose labels carry a ``split`` column ("train" / "test").

    The "test" rows are the test split as they are (e.g. crops from each micrograph's held-out
    region); ``round(val_fraction * n)`` of the "train" rows, drawn by ``seed``, are the validation
    split (for the best checkpoint: they come from the same region as the training rows, so they
    may overlap them), the rest the training split.  Sorted ``int64`` arrays, disjoint.

    >>> labels = pd.DataFrame({"split": ["train"] * 8 + ["test"] * 2})
    >>> {k: v.tolist() for k, v in split_from_labels(labels, val_fraction=0.25).items()}
    {'train': [0, 1, 3, 5, 6, 7], 'val': [2, 4], 'test': [8, 9]}
    """
    if "split" not in labels.columns:
        raise ValueError(f"the labels have no 'split' column (columns: {list(labels.columns)}); "
                         "use split_indices for a dataset without one")
    unknown = sorted(set(labels["split"]) - {"train", "test"})
    if unknown:
        raise ValueError(f"the 'split' column holds {unknown}; expected only 'train' and 'test'")
    pool = np.flatnonzero(labels["split"].to_numpy() == "train")
    parts = split_indices(len(pool), val_fraction=val_fraction, test_fraction=0.0, seed=seed)
    return {"train": pool[parts["train"]], "val": pool[parts["val"]],
            "test": np.flatnonzero(labels["split"].to_numpy() == "test")}


# ----------------------------------------------------------------------------- summaries

def volume_fractions(images: np.ndarray, *, batch_size: int = 4096) -> np.ndarray:
    """Fraction of line (0) pixels of each image: float64 array (n,), read in batches."""
    return np.concatenate([(images[a:a + batch_size] == 0).mean(axis=(1, 2))
                           for a in range(0, len(images), batch_size)] or [np.empty(0)])


def dataset_summary(images: np.ndarray, labels: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``labels`` with a ``volume_fraction`` column (fraction of line pixels per image)."""
    _check_images_labels(images, labels)
    return labels.assign(volume_fraction=volume_fractions(images))
