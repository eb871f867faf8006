"""The "multiple lines" images: their geometry and their seeded generator (paper appendix A).

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

:class:`DatasetSpec` names everything that defines a generated dataset; :mod:`utils.data.store` stores
it on disk and serves it to training.

>>> images, labels = generate_lines(2, size=32, seed=0)
>>> images.shape, images.dtype, labels.columns.tolist()
((2, 32, 32), dtype('uint8'), ['file', 'orientation', 'n_lines'])
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from utils.checks import positive_int
from utils.progress import progress_bar
from utils.project import DEFAULT_LINES

__all__ = ["ORIENTATIONS", "LABEL_COLUMNS", "line_thickness_range", "line_gap", "max_lines_that_fit",
           "generate_lines", "DatasetSpec"]

LABEL_COLUMNS = ("file", "orientation", "n_lines")
ORIENTATIONS = ("vertical", "horizontal")
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
    positive_int(n, "n (number of images)")
    positive_int(size, "size (pixels)", minimum=16)
    positive_int(min_lines, "min_lines")
    positive_int(max_lines, "max_lines")
    if not min_lines <= max_lines:
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


def generate_lines(n: int, *, size: int = 224, min_lines: int = DEFAULT_LINES[0],
                   max_lines: int = DEFAULT_LINES[1], seed: int = 0,
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
    min_lines: int = DEFAULT_LINES[0]   # fewest lines per image (inclusive)
    max_lines: int = DEFAULT_LINES[1]   # most lines per image (inclusive; the "harder" variant uses 3..7)
    seed: int = 0         # seed of numpy.random.default_rng for the whole dataset

    def __post_init__(self) -> None:
        _check_generator_args(self.n_images, self.size, self.min_lines, self.max_lines)

    @property
    def name(self) -> str:
        """Folder name built from the parameters, e.g. ``lines_n1000_s64_l1-5_seed0``."""
        return (f"lines_n{self.n_images}_s{self.size}_l{self.min_lines}-{self.max_lines}"
                f"_seed{self.seed}")

    def generate(self, *, progress: bool = False) -> tuple[np.ndarray, pd.DataFrame]:
        """The images and labels of this dataset (:func:`generate_lines`)."""
        return generate_lines(self.n_images, size=self.size, min_lines=self.min_lines, max_lines=self.max_lines,
                              seed=self.seed, progress=progress)
