"""Real microstructures and a user's own images, cut into crops for training and held-out testing.

A *micrograph* here is a segmented image: a ``(H, W)`` ``uint8`` array of phase labels 0, 1, ...
(rows run top to bottom, columns left to right).  The labels are as the files store them, so which
physical phase is 0 differs by material: in most of the shipped ones 0 is the matrix (97 % of the
PMMA, 86 % of the carbonate), in the alloy 0 is the grain boundaries.  The statistics of notebook
06 are those of phase 0; for two phases the other's follow from them, and the normalised
autocovariance is the same for both.  Seven of them ship with the repository in
``microstructures/`` (256 × 256, from Li et al., Scientific Reports 8, 13461 (2018), CC BY 4.0; the
attribution is in ``microstructures/README.md``).

**Held-out region.**  Crops of one micrograph are correlated: they are views of one piece of
material, not independent samples of it.  So each micrograph is split by columns: the right-most
``test_fraction`` of its width is the *test region*, the rest the *training region*, and every crop
lies inside one region, so that no test crop shares a pixel with a training crop.  What a test
score then says: how well the model does on unseen parts of the *same* specimens, not on new
specimens of the material.

>>> image = np.zeros((8, 12), dtype=np.uint8)
>>> crops, where = random_crops(image, 3, size=4, columns=(8, 12), seed=0)
>>> crops.shape, sorted(set(where["x"]))
((3, 4, 4), [8])
"""
from __future__ import annotations

import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from PIL import Image
from skimage.filters import threshold_multiotsu, threshold_otsu

from utils.checks import check_finite, positive_int
from utils.project import REPO

__all__ = ["MICROGRAPH_DIR", "MATERIALS", "IMAGE_SUFFIXES", "SEGMENTED_LEVELS", "load_micrograph", "split_columns", "random_crops",
           "micrograph_crops", "choose_holdout", "segment", "read_image", "load_image_folder", "as_vae_images", "MicrographSpec"]

MICROGRAPH_DIR = REPO / "microstructures"
MATERIALS = {   # file stem -> what the micrograph shows (microstructures/README.md)
    "alloy": "metallic alloy, grain boundaries",
    "carbonate": "carbonate rock, pore space",
    "ceramics": "ceramic, two-phase",
    "composite": "composite, three phases",
    "copolymer": "block copolymer, lamellar",
    "pmma": "PMMA, sparse particles",
    "sandstone": "sandstone, pore space",
}
IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".npy")
SEGMENTED_LEVELS = 8   # labels 0 .. k - 1 with k up to this are a segmentation, not a grey micrograph


def load_micrograph(name: str, folder: str | os.PathLike = MICROGRAPH_DIR) -> np.ndarray:
    """The shipped micrograph ``name`` (a key of :data:`MATERIALS`): ``(256, 256)`` uint8 phase labels."""
    if name not in MATERIALS:
        raise ValueError(f"unknown micrograph {name!r}; choose one of {sorted(MATERIALS)}")
    path = Path(folder) / f"{name}.npy"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; the micrographs ship in microstructures/ of the repository "
                                "(restore it with git checkout -- microstructures)")
    return segment(read_image(path), phases=3)


def split_columns(width: int, size: int, test_fraction: float = 0.25) -> tuple[tuple[int, int], tuple[int, int]]:
    """Column ranges ``(start, stop)`` of the training and the test region of an image ``width`` wide.

    The test region is the right-most ``round(test_fraction * width)`` columns; both regions must
    hold at least one crop of ``size``.

    >>> split_columns(256, 64)
    ((0, 192), (192, 256))
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction}")
    cut = width - int(round(test_fraction * width))
    if cut < size or width - cut < size:
        raise ValueError(f"an image {width} px wide cannot hold a training and a test crop of {size} px with "
                         f"test_fraction={test_fraction}; use smaller crops or wider images")
    return (0, cut), (cut, width)


def random_crops(image: np.ndarray, n: int, *, size: int, columns: tuple[int, int] | None = None,
                 seed: int = 0) -> tuple[np.ndarray, pd.DataFrame]:
    """``n`` seeded random ``size`` × ``size`` crops of ``image`` lying inside ``columns`` = (start, stop).

    Returns the crops ``(n, size, size)`` (same dtype) and their top-left corners (columns ``y``, ``x``).
    """
    h, w = image.shape
    start, stop = columns if columns is not None else (0, w)
    if h < size or stop - start < size:
        raise ValueError(f"a {size} px crop does not fit a region of {h} x {stop - start} px; "
                         f"use crops of at most {min(h, stop - start)} px")
    rng = np.random.default_rng(seed)
    ys = rng.integers(0, h - size + 1, n)
    xs = rng.integers(start, stop - size + 1, n)
    crops = np.stack([image[y:y + size, x:x + size] for y, x in zip(ys, xs)]) if n else \
        np.zeros((0, size, size), image.dtype)
    return crops, pd.DataFrame({"y": ys, "x": xs})


def micrograph_crops(images: dict[str, np.ndarray], *, size: int = 64, n_train: int = 500, n_test: int = 100,
                     test_fraction: float = 0.25, seed: int = 0,
                     held_out: Sequence[str] | None = None) -> tuple[np.ndarray, pd.DataFrame]:
    """Crops of each named image: ``n_train`` from its training region, ``n_test`` from its test region.

    ``held_out`` None: every image is split by columns (:func:`split_columns`).  Otherwise the images
    named in it are held out whole (``n_test`` crops each, from anywhere in them) and the others are
    training images whole (``n_train`` crops each).  Returns the crops ``(k, size, size)`` and a table
    with one row per crop: ``source`` (the name), ``split`` ("train" or "test"), ``y``, ``x`` (its
    top-left corner in the source).  Seeded by ``seed``, the image's *name* and the split, so adding an
    image leaves the crops of the others unchanged.
    """
    unknown = sorted(set(held_out or ()) - set(images))
    if unknown:
        raise ValueError(f"held_out names {unknown} are not among the images {sorted(images)}")
    crops, rows = [], []
    for name, image in images.items():
        if held_out is None:
            regions = dict(zip(("train", "test"), split_columns(image.shape[1], size, test_fraction)))
            plan = (("train", n_train), ("test", n_test))
        else:
            whole = "test" if name in held_out else "train"
            regions = {whole: (0, image.shape[1])}
            plan = (("train", n_train if whole == "train" else 0), ("test", n_test if whole == "test" else 0))
        for j, (split, n) in enumerate(plan):
            if not n:
                continue
            stream = int(np.random.SeedSequence([seed, zlib.crc32(name.encode()), j]).generate_state(1)[0])
            c, where = random_crops(image, n, size=size, columns=regions[split], seed=stream)
            crops.append(c)
            rows.append(where.assign(source=name, split=split))
    table = pd.concat(rows, ignore_index=True)[["source", "split", "y", "x"]]
    return np.concatenate(crops), table


def choose_holdout(shapes: dict[str, tuple[int, int]], size: int, test_fraction: float = 0.25
                   ) -> tuple[str, float, list[str]]:
    """How to hold out test crops of images of ``shapes`` (name -> (H, W)): ``(how, test_fraction, held_out)``.

    * ``"columns"``: every image's right-most ``test_fraction`` of columns (as given) holds a crop: use it;
    * ``"images"``: some image is too narrow for that but there are several: the last
      ``max(1, round(test_fraction * k))`` of the k images (sorted by name) are held out whole;
    * ``"columns"`` with a smaller or larger share: a single image at least ``2 * size`` wide keeps
      exactly ``size`` test columns (``test_fraction = size / W``);
    * otherwise a ValueError says what would fit.

    >>> choose_holdout({"a": (160, 200), "b": (160, 200)}, 64)
    ('images', 0.25, ['b'])
    >>> choose_holdout({"a": (160, 200)}, 64)
    ('columns', 0.32, [])
    """
    def fits(width: int, fraction: float) -> bool:
        cut = width - int(round(fraction * width))
        return cut >= size and width - cut >= size

    if all(fits(w, test_fraction) for _, w in shapes.values()):
        return "columns", test_fraction, []
    names = sorted(shapes)
    if len(names) >= 2:       # at least one image held out, at least one left to train on
        return "images", test_fraction, names[-min(len(names) - 1, max(1, int(round(test_fraction * len(names))))):]
    (name, (_, width)), = shapes.items()
    if width >= 2 * size:
        return "columns", size / width, []
    raise ValueError(f"{name} is {width} px wide: one image needs at least {2 * size} px to hold a training and a "
                     f"held-out crop of {size} px side by side; use crops of at most {width // 2} px, or add images "
                     "so that whole images can be held out")


def segment(image: np.ndarray, *, phases: int = 2, threshold: float | None = None, name: str = "image") -> np.ndarray:
    """Phase labels 0 .. phases - 1 (uint8) of ``image`` ``(H, W)``.

    An image that holds labels already (integers 0 .. k - 1, every one present), or at most
    ``phases`` distinct integer values (a binary PNG of 0 and 255), is segmented: its values, in
    increasing order, become 0, 1, ... (labels 0 .. k - 1 with k > ``phases`` is an error: more
    phases than asked for).  Any other (grey) image is thresholded: at ``threshold``
    when given (two phases: 0 below it, 1 at or above), else by Otsu's method (scikit-image's
    ``threshold_otsu``; ``threshold_multiotsu`` for more than two phases), so that the darkest
    phase is 0.

    >>> segment(np.array([[3, 7], [7, 3]]))
    array([[0, 1],
           [1, 0]], dtype=uint8)
    """
    a = np.asarray(image)
    if a.ndim != 2 or a.size == 0:
        raise ValueError(f"{name} must be one 2-D image, got shape {a.shape}")
    check_finite(a, name)
    values = np.unique(a)
    integral = np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.bool_) or \
        bool(np.all(values == np.round(values)))
    labels = integral and np.array_equal(values, np.arange(len(values)))
    if threshold is None and integral and (len(values) <= phases or (labels and len(values) <= SEGMENTED_LEVELS)):
        if len(values) > phases:
            raise ValueError(f"{name} is segmented into {len(values)} phases ({values.tolist()}), more than "
                             f"phases={phases}; ask for phases={len(values)} or merge phases first")
        return np.searchsorted(values, a).astype(np.uint8)
    if len(values) < 2:
        raise ValueError(f"{name} has a single grey level; there is nothing to segment")
    if threshold is not None:
        if phases != 2:
            raise ValueError(f"a single threshold makes two phases, not {phases}; leave threshold=None")
        return (a >= threshold).astype(np.uint8)
    cuts = [threshold_otsu(a)] if phases == 2 else list(threshold_multiotsu(a, classes=phases))
    return np.digitize(a, cuts, right=True).astype(np.uint8)      # above a cut: the next phase, as skimage


def read_image(path: str | os.PathLike) -> np.ndarray:
    """The 2-D array stored in a PNG, TIFF or NPY file (colour images are turned grey)."""
    path = Path(path)
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise ValueError(f"{path}: unsupported file type; use one of {', '.join(IMAGE_SUFFIXES)}")
    try:
        if path.suffix.lower() == ".npy":
            a = np.load(path, allow_pickle=False)
        else:
            with Image.open(path) as im:
                a = np.asarray(im.convert("L") if im.mode in ("RGB", "RGBA", "P", "LA") else im)
    except Exception as err:     # PIL and numpy raise several kinds for a damaged file
        raise ValueError(f"{path} could not be read ({type(err).__name__}: {err}); is the file complete?") from None
    if a.ndim == 3 and a.shape[-1] in (3, 4):
        a = a[..., :3].mean(axis=-1)
    if a.ndim != 2:
        raise ValueError(f"{path} holds an array of shape {a.shape}; expected one 2-D image")
    return a


def load_image_folder(path: str | os.PathLike, *, size: int = 64, n_train: int = 500, n_test: int = 100,
                      phases: int = 2, threshold: float | None = None, test_fraction: float = 0.25,
                      seed: int = 0) -> tuple[np.ndarray, pd.DataFrame]:
    """A user's micrographs, segmented and cut into training and held-out crops.

    Reads every PNG, TIFF and NPY file of the folder ``path`` (sorted by name), segments each with
    :func:`segment` (``phases``, ``threshold``), then cuts :func:`micrograph_crops` from it, held out as
    :func:`choose_holdout` decides: by columns when every image is wide enough, else whole images when
    there are several, else a narrower test region of one image.  Returns the crops ``(k, size, size)``
    uint8 and their table (``source`` = the file's stem, ``split``, ``y``, ``x``, and ``holdout``:
    "columns" or "images", the split used; it is also printed).  Raises a clear error for a missing or
    empty folder, a file that cannot be read, an image smaller than the crops, an image with more phases
    than ``phases``, or a single image too narrow for two crops.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder {folder} does not exist")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ValueError(f"{folder} holds no image ({', '.join(IMAGE_SUFFIXES)} files); put the micrographs there")
    images = {}
    for file in files:
        a = read_image(file)
        if min(a.shape) < size:
            raise ValueError(f"{file} is {a.shape[0]} x {a.shape[1]} px, smaller than the {size} px crops; "
                             "use smaller crops")
        images[file.stem] = segment(a, phases=phases, threshold=threshold, name=str(file))
    how, fraction, held_out = choose_holdout({k: v.shape for k, v in images.items()}, size, test_fraction)
    print(f"held out: {'whole images ' + ', '.join(held_out) if how == 'images' else f'the right-most {fraction:.0%} of each image'}")
    crops, table = micrograph_crops(images, size=size, n_train=n_train, n_test=n_test, test_fraction=fraction,
                                    seed=seed, held_out=held_out if how == "images" else None)
    return crops, table.assign(holdout=how)


def as_vae_images(labels: np.ndarray) -> np.ndarray:
    """Phase labels (n, H, W) -> the images the VAE sees: uint8, 0 where the phase is 0, 1 elsewhere.

    The convention of the lines (0 = the phase whose statistics are compared, 1 = the rest).  A
    three-phase image keeps phase 0 against the other two merged (its full statistics: notebook 06).
    """
    return (np.asarray(labels) != 0).astype(np.uint8)


@dataclass(frozen=True)
class MicrographSpec:
    """A dataset of crops of the shipped micrographs (the ``micro`` profile's); :attr:`name` is its folder."""

    size: int = 64               # crop side (px)
    n_train: int = 800           # crops per micrograph from its training region (validation is drawn from them)
    n_test: int = 100            # crops per micrograph from its held-out region
    test_fraction: float = 0.25  # right-most fraction of each micrograph's width that is held out
    seed: int = 0                # seed of the crop positions (with each micrograph's name)

    def __post_init__(self) -> None:
        positive_int(self.n_train, "n_train (crops per micrograph)")
        positive_int(self.n_test, "n_test (crops per micrograph)")
        split_columns(256, self.size, self.test_fraction)      # the crops must fit both regions

    @property
    def n_images(self) -> int:
        return len(MATERIALS) * (self.n_train + self.n_test)

    @property
    def name(self) -> str:
        """Folder name built from the parameters, e.g. ``micrographs_s64_n800+100_t0.25_seed0``."""
        return f"micrographs_s{self.size}_n{self.n_train}+{self.n_test}_t{self.test_fraction:g}_seed{self.seed}"

    def generate(self, *, progress: bool = False) -> tuple[np.ndarray, pd.DataFrame]:
        """The crops as VAE images (:func:`as_vae_images`) and their labels table: ``file`` (PNG name),
        ``material`` (micrograph name), ``source`` (its file in microstructures/), ``split`` ("train" or
        "test": the region), ``y``, ``x`` (top-left corner in the micrograph)."""
        crops, table = micrograph_crops({name: load_micrograph(name) for name in MATERIALS}, size=self.size,
                                        n_train=self.n_train, n_test=self.n_test,
                                        test_fraction=self.test_fraction, seed=self.seed)
        labels = pd.DataFrame({"file": [f"{i:06d}.png" for i in range(len(crops))], "material": table["source"],
                               "source": table["source"] + ".npy", "split": table["split"],
                               "y": table["y"], "x": table["x"]})
        return as_vae_images(crops), labels
