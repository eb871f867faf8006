"""Evaluation metrics of the paper's appendix B, automated.

Conventions
-----------
* Images are ``(H, W)`` arrays or tensors, batches ``(n, H, W)`` or ``(n, 1, H, W)``.
  Originals are binary, **0 = line (black), 1 = background (white)**; reconstructions are grey
  in [0, 1] (the decoder's sigmoid).
* :func:`threshold_image` is the paper's eq. 2 (§B.2): pixel < threshold -> 0 (line), else 1,
  threshold 0.05.
* MSEs are means over pixels (not sums), computed in float64.  The paper reports only the
  ratio "ours / vanilla" of each, which is the same for sums and means.

Counting lines (the paper counted by hand; here it is automatic)
----------------------------------------------------------------
:func:`count_lines` and :func:`line_orientation` read a **binary** image (threshold a
reconstruction first) with :func:`_line_components`:

1. Label the line pixels (value 0) in connected components with ``scipy.ndimage.label``,
   8-connectivity (so the staircase of a ragged edge stays one piece).
2. **Drop specks**: a component with fewer pixels than ``min_area_fraction`` (default 1/4) of
   the smallest line the generator can draw at this image size, ``(size // 2) * t_min`` with
   ``t_min`` from :func:`utils.data.lines.line_thickness_range` (5 px at 224, 1 px at 64: i.e. fewer
   than 140 px at 224, 8 px at 64), is noise, not a line.  ``size`` is ``min(H, W)``.
3. **Orientation** of the image, from the aggregate extent of the kept components:
   ``"vertical"`` when the sum of their bounding-box heights exceeds the sum of their widths,
   ``"horizontal"`` when it is smaller; an exact tie (e.g. one square blob) is called
   ``"vertical"``.  No kept component: orientation ``"none"`` and count 0.
4. **Merge fragments** of a broken line: each kept component takes the image's orientation,
   unless it is itself a line of the other orientation: longer across than along the image's
   orientation *and* at least ``size // 4`` px long that way (half the shortest line; a
   short chunky fragment of a broken line is not).  Components of the same orientation whose
   bands across the line overlap - column ranges for vertical ones, row ranges for horizontal
   ones - are one line (a one-pixel gap or a hole that cuts a line leaves its pieces in the
   same band).  The count is the number of such groups, over both orientations.  On the
   generator's images this equals the label: distinct parallel lines are at least
   :func:`utils.data.lines.line_gap` px apart across, so their bands never overlap.  Lines that
   touch (e.g. a reconstruction that fills the gap between two) count as one.

>>> image = np.ones((16, 16), dtype=np.uint8)
>>> image[2:14, 3] = 0; image[2:14, 8:10] = 0; image[5, 12] = 0    # two lines and a speck
>>> count_lines(image), line_orientation(image)
(2, 'vertical')
>>> recon = image.astype(float); recon[2:14, 3] = 0.5                # one line too grey to survive
>>> volume_fraction_difference(image, recon)                          # 12 of the 37 line pixels lost
32.4324
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from scipy import ndimage

from utils.checks import ArrayLike, check_binary, check_same_shape, float64_tensor, image_batch, single_image
from utils.data.lines import line_thickness_range
from utils.statistics.two_point import spatial_statistics

__all__ = [
    "threshold_image", "volume_fraction_difference", "volume_fraction_differences",
    "count_lines", "line_orientation", "lines_summary", "min_line_area",
    "data_mse", "spatial_stats_mse", "data_mse_batch", "spatial_stats_mse_batch",
]

PAPER_THRESHOLD = 0.05      # §B.2: reconstruction pixel < 0.05 -> line
MIN_AREA_FRACTION = 0.25    # components below this fraction of the smallest line are specks


# ----------------------------------------------------------------------------- thresholding

def threshold_image(x: ArrayLike, threshold: float = PAPER_THRESHOLD) -> ArrayLike:
    """The paper's eq. 2: 0 (line) where ``x < threshold``, else 1 (background).

    Any shape.  A numpy array gives a ``uint8`` array; a tensor gives a tensor of the same
    floating dtype (or float32 for integer input), on the same device.
    """
    if isinstance(x, torch.Tensor):
        dtype = x.dtype if x.is_floating_point() else torch.float32
        return (x.detach() >= threshold).to(dtype)
    if isinstance(x, np.ndarray):
        return (x >= threshold).astype(np.uint8)
    raise TypeError(f"x must be a numpy array or a torch tensor, got {type(x).__name__}")


# ----------------------------------------------------------------------------- volume fraction

def volume_fraction_difference(original: ArrayLike, reconstruction: ArrayLike,
                               threshold: float = PAPER_THRESHOLD) -> float:
    """The paper's eq. 1 in percent, rounded to 4 decimals.

    ``|black(original) - black(threshold_image(reconstruction))| / black(original) * 100`` where
    black() counts line pixels (value 0).  ``original``: binary (H, W) image (0 = line);
    ``reconstruction``: grey (H, W) image in [0, 1].  Raises ValueError when the shapes differ,
    the original is not binary, or the original has no line pixels (the ratio is undefined).
    """
    o = single_image(original, "original")
    r = single_image(reconstruction, "reconstruction")
    check_same_shape(o, r, "original and reconstruction")
    check_binary(o, "original")
    black_original = int((o == 0).sum())
    if black_original == 0:
        raise ValueError("the original has no line pixels (value 0), so the volume fraction "
                         "difference (divided by that count) is undefined; pass an image with lines")
    black_recon = int((threshold_image(r, threshold) == 0).sum())
    return round(abs(black_original - black_recon) / black_original * 100.0, 4)


def volume_fraction_differences(originals: ArrayLike, reconstructions: ArrayLike,
                                threshold: float = PAPER_THRESHOLD) -> np.ndarray:
    """:func:`volume_fraction_difference` of each pair of two (n, H, W) batches: float64 (n,), percent."""
    o, r = image_batch(originals, "originals"), image_batch(reconstructions, "reconstructions")
    check_same_shape(o, r, "originals and reconstructions")
    return np.array([volume_fraction_difference(a, b, threshold) for a, b in zip(o, r)], dtype=np.float64)


# ----------------------------------------------------------------------------- counting lines

def min_line_area(size: int) -> int:
    """Pixels of the smallest line the generator draws at image size ``size``: (size // 2) * t_min."""
    return (size // 2) * line_thickness_range(size)[0]


@dataclass(frozen=True)
class _Component:
    area: int       # number of line pixels
    rows: slice     # bounding box rows [start, stop)
    cols: slice     # bounding box columns [start, stop)

    @property
    def height(self) -> int:
        return self.rows.stop - self.rows.start

    @property
    def width(self) -> int:
        return self.cols.stop - self.cols.start


_EIGHT_CONNECTED = np.ones((3, 3), dtype=bool)


def _line_components(image: np.ndarray, min_area_fraction: float) -> list[_Component]:
    """Connected components (8-connectivity) of the line pixels that are big enough to be lines."""
    labelled, n = ndimage.label(image == 0, structure=_EIGHT_CONNECTED)
    if n == 0:
        return []
    areas = np.bincount(labelled.ravel(), minlength=n + 1)
    min_area = min_area_fraction * min_line_area(min(image.shape))
    return [_Component(int(areas[i + 1]), box[0], box[1])
            for i, box in enumerate(ndimage.find_objects(labelled)) if areas[i + 1] >= min_area]


def _orientation(components: list[_Component]) -> str:
    if not components:
        return "none"
    heights = sum(c.height for c in components)
    widths = sum(c.width for c in components)
    return "horizontal" if widths > heights else "vertical"


def _count_bands(intervals: list[tuple[int, int]]) -> int:
    """Number of groups of overlapping half-open intervals [start, stop) (chains merge)."""
    groups, reach = 0, None
    for start, stop in sorted(intervals):
        if reach is None or start >= reach:
            groups += 1
            reach = stop
        else:
            reach = max(reach, stop)
    return groups


def _analyse(image: ArrayLike, min_area_fraction: float) -> tuple[str, int]:
    a = single_image(image, "image")
    check_binary(a, "image")
    components = _line_components(a, min_area_fraction)
    orientation = _orientation(components)
    min_length = min(a.shape) // 4
    vertical, horizontal = [], []
    for c in components:
        if orientation == "vertical":
            is_vertical = not (c.width > c.height and c.width >= min_length)
        else:
            is_vertical = c.height > c.width and c.height >= min_length
        if is_vertical:
            vertical.append((c.cols.start, c.cols.stop))
        else:
            horizontal.append((c.rows.start, c.rows.stop))
    return orientation, _count_bands(vertical) + _count_bands(horizontal)


def count_lines(image: ArrayLike, *, min_area_fraction: float = MIN_AREA_FRACTION) -> int:
    """Number of lines in a binary (H, W) image (0 = line); 0 for an image without lines.

    Specks smaller than ``min_area_fraction`` of the smallest possible line are ignored and
    pieces of one broken line (same column band for vertical lines, row band for horizontal
    ones) count once: see the module docstring for the exact rule.
    """
    return _analyse(image, min_area_fraction)[1]


def line_orientation(image: ArrayLike, *, min_area_fraction: float = MIN_AREA_FRACTION) -> str:
    """``"vertical"``, ``"horizontal"`` or, with no line, ``"none"``, of a binary (H, W) image (0 = line).

    From the kept components' summed bounding-box heights vs widths (ties -> "vertical").
    """
    return _analyse(image, min_area_fraction)[0]


def lines_summary(images: ArrayLike, *, min_area_fraction: float = MIN_AREA_FRACTION) -> pd.DataFrame:
    """Orientation and line count of each binary image of a (n, H, W) batch.

    Returns a DataFrame with n rows and columns ``orientation`` (str) and ``n_lines`` (int64).
    """
    batch = image_batch(images, "images")
    rows = [_analyse(image, min_area_fraction) for image in batch]
    return pd.DataFrame({"orientation": [r[0] for r in rows],
                         "n_lines": np.array([r[1] for r in rows], dtype=np.int64)})


# ----------------------------------------------------------------------------- MSEs

def data_mse(a: ArrayLike, b: ArrayLike) -> float:
    """Data-space MSE of two (H, W) images: mean over pixels of (a - b)^2, in float64."""
    x, y = float64_tensor(single_image(a, "a")), float64_tensor(single_image(b, "b"))
    check_same_shape(x, y, "a and b")
    return float(((x - y) ** 2).mean())


def spatial_stats_mse(a: ArrayLike, b: ArrayLike, *, phase: float = 0.0, eps: float = 0.25) -> float:
    """Spatial-statistics MSE of two (H, W) images: mean over offsets of (f(a) - f(b))^2.

    ``f = utils.statistics.two_point.spatial_statistics`` (periodic autocorrelation of the soft indicator of
    ``phase``), evaluated in float64.
    """
    x, y = float64_tensor(single_image(a, "a")), float64_tensor(single_image(b, "b"))
    check_same_shape(x, y, "a and b")
    fx = spatial_statistics(x, phase=phase, eps=eps)
    fy = spatial_statistics(y, phase=phase, eps=eps)
    return float(((fx - fy) ** 2).mean())


def data_mse_batch(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """:func:`data_mse` of each pair of two (n, H, W) or (n, 1, H, W) batches: float64 (n,)."""
    x, y = image_batch(a, "a"), image_batch(b, "b")
    check_same_shape(x, y, "a and b")
    x, y = float64_tensor(x), float64_tensor(y)
    return ((x - y) ** 2).mean(dim=(-2, -1)).numpy()


def spatial_stats_mse_batch(a: ArrayLike, b: ArrayLike, *, phase: float = 0.0, eps: float = 0.25,
                            batch_size: int = 256) -> np.ndarray:
    """:func:`spatial_stats_mse` of each pair of two (n, H, W) or (n, 1, H, W) batches: float64 (n,).

    Computed ``batch_size`` pairs at a time to bound memory.
    """
    x, y = image_batch(a, "a"), image_batch(b, "b")
    check_same_shape(x, y, "a and b")
    out = []
    for s in range(0, len(x), batch_size):
        fx = spatial_statistics(float64_tensor(x[s:s + batch_size]), phase=phase, eps=eps)
        fy = spatial_statistics(float64_tensor(y[s:s + batch_size]), phase=phase, eps=eps)
        out.append(((fx - fy) ** 2).mean(dim=(-2, -1)).numpy())
    return np.concatenate(out) if out else np.empty(0)
