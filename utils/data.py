"""The "multiple lines" dataset: generation, storage on disk, splits and torch access.

What an image is
----------------
* A ``size x size`` binary ``uint8`` array: **background 1 (white), lines 0 (black)**, so the
  phase of interest of the spatial statistics (phase 0) is the line phase.
* All lines of one image share one orientation, ``"vertical"`` or ``"horizontal"`` (50/50).
* ``n_lines`` is uniform in ``[min_lines, max_lines]``; each line has an integer length uniform in
  ``[size // 2, size)`` pixels, an integer thickness uniform in :func:`line_thickness_range`
  (5..9 px at size 224, scaled with the size) and lies fully inside the image.

What we fixed compared with the paper's generator
-------------------------------------------------
The paper rejected a new line that came within 10 px (centre to centre) of an earlier one and
gave up after 50 tries, yet lines could still touch, and the label kept the *requested* count.
Here every pair of lines is separated by at least :func:`line_gap` background pixels across
the lines (the "perpendicular axis"), so lines never touch and a connected-component count of
the line phase (4- or 8-connectivity) always equals the label.  The placement never fails:
the lines of an image are packed side by side across the image (random thicknesses, so a
random order) with the minimum gap between neighbours, and the free pixels left over are
shared out at random among the spaces before, between and after them (sorted uniform
offsets).  Each line then gets an independent, uniform start along its length.  So the
number drawn always equals the number requested, and the label records it.  (This is a bit
stricter than the paper, which let two lines share columns when they did not overlap along
their length; with lengths >= size/2 that configuration was rare.)

On disk
-------
``folder/labels.csv`` (columns ``file, orientation, n_lines``), ``folder/images.npy`` (the
``uint8`` array, read back memory-mapped) and, optionally, ``folder/images/000000.png ...``
(1-bit PNGs, black lines on white).  A dataset folder is written atomically: it is built in
``<folder>.tmp-<pid>`` next to it and renamed at the end, so a folder holding ``labels.csv``
and ``images.npy`` with the same number of images is always complete.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from utils.progress import progress_bar

from utils.stats import phase_indicator, power_spectrum, spatial_statistics

__all__ = [
    "line_thickness_range", "line_gap", "max_lines_that_fit", "generate_lines", "DatasetSpec",
    "save_dataset", "load_dataset", "is_complete_dataset", "ensure_dataset", "split_indices",
    "LinesDataset", "compute_stats_cache", "compute_spectra_cache", "volume_fractions", "dataset_summary",
]

LABEL_COLUMNS = ("file", "orientation", "n_lines")
ORIENTATIONS = ("vertical", "horizontal")
_HOW_TO_CREATE = ("run notebooks/01_dataset_synthesis.ipynb or "
                  "utils.data.ensure_dataset(DatasetSpec(...), root) to create it")
_PAPER_SIZE = 224  # image size at which the paper's line thickness of 5..9 px is defined


# ----------------------------------------------------------------------------- geometry

def _round_half_up(x: float) -> int:
    return int(np.floor(x + 0.5))


def line_thickness_range(size: int) -> tuple[int, int]:
    """Smallest and largest line thickness in pixels (both inclusive) at image size ``size``.

    The paper's 5..9 px at 224 px, scaled linearly with the size and rounded half up, at least
    1 px: (5, 9) at 224, (1, 3) at 64, (1, 1) at 16.
    """
    lo = max(1, _round_half_up(5 * size / _PAPER_SIZE))
    hi = max(lo, _round_half_up(9 * size / _PAPER_SIZE))
    return lo, hi


def line_gap(size: int) -> int:
    """Least number of background pixels between two lines: max(2, round(3 * size / 224)).

    3 px at 224; never below 2 px so that lines cannot touch even diagonally (8-connectivity).
    """
    return max(2, _round_half_up(3 * size / _PAPER_SIZE))


def max_lines_that_fit(size: int) -> int:
    """Most lines of the largest thickness, with :func:`line_gap` between them, that fit across ``size`` px."""
    _, t_max = line_thickness_range(size)
    gap = line_gap(size)
    return (size + gap) // (t_max + gap)


def _check_generator_args(n: int, size: int, min_lines: int, max_lines: int) -> None:
    for name, value in (("n", n), ("size", size), ("min_lines", min_lines), ("max_lines", max_lines)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise ValueError(f"{name} must be an integer, got {value!r}")
    if n < 1:
        raise ValueError(f"n (number of images) must be >= 1, got {n}")
    if size < 16:
        raise ValueError(f"size must be >= 16 pixels, got {size}; use a larger image size")
    if not 1 <= min_lines <= max_lines:
        raise ValueError(f"need 1 <= min_lines <= max_lines, got min_lines={min_lines}, "
                         f"max_lines={max_lines}; fix the line-count range")
    limit = max_lines_that_fit(size)
    if max_lines > limit:
        _, t_max = line_thickness_range(size)
        raise ValueError(
            f"max_lines={max_lines} lines of up to {t_max} px with {line_gap(size)} px gaps need "
            f"{max_lines * t_max + (max_lines - 1) * line_gap(size)} px but size={size}: at most "
            f"{limit} lines fit; lower max_lines to <= {limit} or raise size")


# ----------------------------------------------------------------------------- generation

def _file_names(n: int) -> list[str]:
    width = max(6, len(str(n - 1)))
    return [f"{i:0{width}d}.png" for i in range(n)]


def _draw_parameters(u: np.ndarray, size: int, min_lines: int, max_lines: int) -> dict[str, np.ndarray]:
    """Turn uniforms ``u`` of shape (n, 2 + 4 * max_lines) into each image's line geometry.

    Returns arrays: ``vertical`` (n,) bool, ``count`` (n,), and per line slot (n, max_lines):
    ``thick``, ``length``, ``along`` (start along the line's length) and ``across`` (first
    pixel across the lines).  Slots ``>= count`` are unused.  Integer draws are
    ``lo + floor(u * (hi - lo + 1))``, i.e. uniform on ``lo..hi``.
    """
    m = max_lines
    u_thick, u_len, u_along, u_across = (u[:, 2 + k * m: 2 + (k + 1) * m] for k in range(4))
    vertical = u[:, 0] < 0.5
    count = min_lines + np.floor(u[:, 1] * (max_lines - min_lines + 1)).astype(np.int64)
    used = np.arange(m) < count[:, None]

    t_lo, t_hi = line_thickness_range(size)
    thick = np.where(used, t_lo + np.floor(u_thick * (t_hi - t_lo + 1)).astype(np.int64), 0)
    l_lo = size // 2
    length = l_lo + np.floor(u_len * (size - l_lo)).astype(np.int64)          # l_lo .. size-1
    along = np.floor(u_along * (size - length + 1)).astype(np.int64)         # 0 .. size-length

    # Across the lines: lay them side by side with `gap` px between neighbours and share the
    # `free` leftover pixels among the count + 1 spaces (before, between, after).  Sorted
    # uniforms scaled to 0..free give each line's extra offset; unused slots sort last.
    gap = line_gap(size)
    free = size - thick.sum(axis=1) - (count - 1) * gap                       # >= 0 by validation
    keys = np.sort(np.where(used, u_across, 2.0), axis=1)
    extra = np.minimum(np.floor(keys * (free[:, None] + 1)).astype(np.int64), free[:, None])
    packed = np.cumsum(thick + gap, axis=1) - (thick + gap)                  # start if no extra
    across = packed + extra
    return {"vertical": vertical, "count": count, "thick": thick, "length": length,
            "along": along, "across": across}


def generate_lines(n: int, *, size: int = 224, min_lines: int = 1, max_lines: int = 5, seed: int = 0,
                   progress: bool = False) -> tuple[np.ndarray, pd.DataFrame]:
    """Generate ``n`` binary images of parallel lines and their labels.

    Returns ``images``, ``uint8`` of shape ``(n, size, size)`` with 0 = line, 1 = background,
    and ``labels``, a DataFrame with columns ``file`` ("000000.png", ...), ``orientation``
    ("vertical" / "horizontal") and ``n_lines`` (the number of lines drawn; always equal to the
    number of connected components of the line phase).

    Deterministic: all randomness comes from one ``numpy.random.default_rng(seed)`` stream, one
    row of ``2 + 4 * max_lines`` uniforms per image, so the same arguments give the same bytes
    and the first ``m`` images of ``n > m`` equal those of ``n = m``.
    """
    _check_generator_args(n, size, min_lines, max_lines)
    rng = np.random.default_rng(seed)
    p = _draw_parameters(rng.random((n, 2 + 4 * max_lines)), size, min_lines, max_lines)

    images = np.ones((n, size, size), dtype=np.uint8)
    rows = zip(p["vertical"].tolist(), p["count"].tolist(), p["thick"].tolist(),
               p["length"].tolist(), p["along"].tolist(), p["across"].tolist())
    bar = progress_bar(images, total=n, desc="drawing lines", disable=not progress, unit="img")
    for image, (vertical, count, thick, length, along, across) in zip(bar, rows):
        for j in range(count):
            a, b = along[j], along[j] + length[j]
            c, d = across[j], across[j] + thick[j]
            if vertical:
                image[a:b, c:d] = 0
            else:
                image[c:d, a:b] = 0

    labels = pd.DataFrame({
        "file": _file_names(n),
        "orientation": np.where(p["vertical"], ORIENTATIONS[0], ORIENTATIONS[1]).tolist(),
        "n_lines": p["count"].astype(np.int64),
    })
    return images, labels


@dataclass(frozen=True)
class DatasetSpec:
    """Everything that defines a generated dataset; its :attr:`name` is the folder name."""

    n_images: int = 1000  # number of images to generate
    size: int = 64        # image height = width in pixels (the paper used 224)
    min_lines: int = 1    # fewest lines per image (inclusive)
    max_lines: int = 5    # most lines per image (inclusive; the "harder" variant uses 3..7)
    seed: int = 0         # seed of numpy.random.default_rng for the whole dataset

    def __post_init__(self) -> None:
        _check_generator_args(self.n_images, self.size, self.min_lines, self.max_lines)

    @property
    def name(self) -> str:
        """Folder name built from the parameters, e.g. ``lines_n1000_s64_l1-5_seed0``."""
        return (f"lines_n{self.n_images}_s{self.size}_l{self.min_lines}-{self.max_lines}"
                f"_seed{self.seed}")


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
    missing = [c for c in LABEL_COLUMNS if c not in labels.columns]
    if missing:
        raise ValueError(f"labels lack the columns {missing}; expected {list(LABEL_COLUMNS)} "
                         "as made by generate_lines")
    if len(labels) != len(images):
        raise ValueError(f"{len(images)} images but {len(labels)} label rows; pass matching "
                         "images and labels")


def _write_pngs(folder: Path, images: np.ndarray, files: list[str], progress: bool) -> None:
    from PIL import Image

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
        labels = labels.loc[:, list(LABEL_COLUMNS)]
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
    ``labels`` (columns ``file, orientation, n_lines``).  Raises FileNotFoundError when the
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
    labels["n_lines"] = labels["n_lines"].astype(np.int64)
    return images, labels


def ensure_dataset(spec: DatasetSpec, root: str | os.PathLike = "data", *, progress: bool = True,
                   write_png: bool = True) -> Path:
    """Return ``root / spec.name``, generating and saving the dataset there first if needed.

    A complete dataset of the right number of images is reused as is (its PNGs are not
    checked); anything else in that folder is replaced.
    """
    folder = Path(root) / spec.name
    if is_complete_dataset(folder) and np.load(folder / "images.npy", mmap_mode="r").shape == (
            spec.n_images, spec.size, spec.size):
        return folder
    images, labels = generate_lines(spec.n_images, size=spec.size, min_lines=spec.min_lines,
                                    max_lines=spec.max_lines, seed=spec.seed, progress=progress)
    return save_dataset(folder, images, labels, write_png=write_png, overwrite=True, progress=progress)


# ----------------------------------------------------------------------------- splits and torch

def split_indices(n: int, *, val_fraction: float = 0.2, test_fraction: float = 0.1,
                  seed: int = 0) -> dict[str, np.ndarray]:
    """Random train / val / test split of ``range(n)``.

    Returns ``{"train", "val", "test"}`` -> sorted ``int64`` index arrays, disjoint and together
    covering ``range(n)``; ``round(n * fraction)`` indices go to val and test, the rest to
    train.  Deterministic in ``seed``.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
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


class LinesDataset(torch.utils.data.Dataset):
    """Torch view of (a subset of) a ``uint8`` image array, e.g. the memory map of load_dataset.

    ``images``: (N, H, W) ``uint8`` in {0, 1}.  ``indices``: which of the N images this dataset
    serves (default all), e.g. ``split_indices(N)["train"]``.  At most one target per image,
    indexed like ``images``: ``stats``, an (N, H, W) array of precomputed spatial statistics
    (:func:`compute_stats_cache`), or ``spectra``, an (N, H, W//2 + 1) array of their power
    spectra (:func:`compute_spectra_cache`, what training uses).  Item ``i`` is a float32 tensor
    (1, H, W) with values 0. (line) / 1., or the tuple ``(image, target)`` with ``target`` a
    float32 tensor (1, H, W) or (1, H, W//2 + 1) when a target array is given.
    """

    def __init__(self, images: np.ndarray, indices: np.ndarray | None = None,
                 stats: np.ndarray | None = None, spectra: np.ndarray | None = None) -> None:
        if not isinstance(images, np.ndarray) or images.ndim != 3:
            raise ValueError(f"images must be a numpy array of shape (N, H, W), got "
                             f"{type(images).__name__} {getattr(images, 'shape', '')}")
        if stats is not None and spectra is not None:
            raise ValueError("pass stats or spectra, not both: an item holds one target")
        if stats is not None and tuple(stats.shape) != images.shape:
            raise ValueError(f"stats must have the images' shape {images.shape}, got "
                             f"{tuple(stats.shape)}; compute them with compute_stats_cache(images)")
        n, h, w = images.shape
        if spectra is not None and tuple(spectra.shape) != (n, h, w // 2 + 1):
            raise ValueError(f"spectra must have shape {(n, h, w // 2 + 1)} (the half spectrum of each image), "
                             f"got {tuple(spectra.shape)}; compute them with compute_spectra_cache(images)")
        indices = np.arange(len(images)) if indices is None else np.asarray(indices, dtype=np.int64)
        if indices.ndim != 1 or (indices.size and (indices.min() < 0 or indices.max() >= len(images))):
            raise ValueError(f"indices must be a 1-D array of values in [0, {len(images)}); "
                             "use split_indices(len(images))")
        self.images, self.indices, self.stats, self.spectra = images, indices, stats, spectra
        self._targets = stats if spectra is None else spectra   # what an item carries besides the image

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        j = self.indices[i]
        image = torch.from_numpy(np.asarray(self.images[j], dtype=np.float32))[None]
        if self._targets is None:
            return image
        return image, torch.from_numpy(np.array(self._targets[j], dtype=np.float32))[None]


def compute_spectra_cache(images: np.ndarray, *, batch_size: int = 256, phase: float = 0.0,
                          eps: float = 0.25, progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Power spectra of every image's statistics, and each image's largest statistic.

    Returns ``(spectra, peaks)``: ``spectra`` float32 (n, H, W//2 + 1), item ``k`` =
    ``utils.stats.power_spectrum(images[k], phase=phase, eps=eps)`` = |rfft2(m)|² / S of the
    soft indicator m (computed in float64, then rounded), from which the training loss gets
    || f(recon) - f(image) ||² by Parseval; ``peaks`` float64 (n,), f_k(0) = mean(m²), the
    r = 0 value and so the largest of image k's statistics (an autocorrelation peaks at r = 0),
    ~ its line volume fraction.  The statistics themselves are never formed.  Computed on the
    CPU in batches of ``batch_size``.
    """
    if not isinstance(images, np.ndarray) or images.ndim != 3:
        raise ValueError(f"images must be a numpy array of shape (n, H, W), got "
                         f"{type(images).__name__} {getattr(images, 'shape', '')}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    n, h, w = images.shape
    spectra = np.empty((n, h, w // 2 + 1), dtype=np.float32)
    peaks = np.empty(n, dtype=np.float64)
    starts = range(0, n, batch_size)
    with torch.inference_mode():
        for a in progress_bar(starts, desc="power spectra", disable=not progress, unit="batch"):
            x = torch.from_numpy(np.asarray(images[a:a + batch_size], dtype=np.float64))
            spectra[a:a + batch_size] = power_spectrum(x, phase=phase, eps=eps).numpy()
            peaks[a:a + batch_size] = phase_indicator(x, phase, eps).square().mean(dim=(-2, -1)).numpy()
    return spectra, peaks


def compute_stats_cache(images: np.ndarray, *, batch_size: int = 256, phase: float = 0.0,
                        eps: float = 0.25, progress: bool = True) -> np.ndarray:
    """Spatial statistics of every image: float32 array (n, H, W), r = 0 at (H//2, W//2).

    Item ``k`` equals ``utils.stats.spatial_statistics(images[k] as float32, phase, eps)``
    (periodic, soft indicator of ``phase``); computed on the CPU in batches of ``batch_size``.
    """
    if not isinstance(images, np.ndarray) or images.ndim != 3:
        raise ValueError(f"images must be a numpy array of shape (n, H, W), got "
                         f"{type(images).__name__} {getattr(images, 'shape', '')}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    out = np.empty(images.shape, dtype=np.float32)
    starts = range(0, len(images), batch_size)
    with torch.inference_mode():
        for a in progress_bar(starts, desc="spatial statistics", disable=not progress, unit="batch"):
            x = torch.from_numpy(np.asarray(images[a:a + batch_size], dtype=np.float32))
            out[a:a + batch_size] = spatial_statistics(x, phase=phase, eps=eps).numpy()
    return out


# ----------------------------------------------------------------------------- summaries

def volume_fractions(images: np.ndarray, *, batch_size: int = 4096) -> np.ndarray:
    """Fraction of line (0) pixels of each image: float64 array (n,), read in batches."""
    return np.concatenate([(images[a:a + batch_size] == 0).mean(axis=(1, 2))
                           for a in range(0, len(images), batch_size)] or [np.empty(0)])


def dataset_summary(images: np.ndarray, labels: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``labels`` with a ``volume_fraction`` column (fraction of line pixels per image)."""
    _check_images_labels(images, labels)
    return labels.assign(volume_fraction=volume_fractions(images))
