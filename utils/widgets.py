"""Small drawing and plotting helpers for the interactive demos of the notebooks.

* :func:`draw_lines` paints a few parallel lines into a blank image with numpy slicing (for
  sliders: every parameter is set by hand, unlike the random generator in :mod:`utils.data`).
* :func:`offset_extent` and :func:`show_image_and_statistics` draw an image beside its centred
  two-point statistics, with axes in pixel offsets r and a colour bar.
* :func:`lines_explorer` builds the ipywidgets demo (sliders -> image and statistics redraw).

Conventions as everywhere in the project: images are {0 = line, 1 = background}; statistics have
r = 0 at index ``n // 2`` of each axis.
"""
from __future__ import annotations

from typing import Any, Callable

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes

from utils.stats import spatial_statistics

__all__ = ["ORIENTATIONS", "draw_lines", "offset_extent", "show_image_and_statistics", "lines_explorer"]

ORIENTATIONS = ("vertical", "horizontal")


def draw_lines(size: int, *, n_lines: int, position: int, thickness: int, gap: int | None = None,
               orientation: str = "vertical", length: int | None = None) -> np.ndarray:
    """A ``(size, size)`` uint8 image, 1 = background, with ``n_lines`` parallel black (0) lines.

    Line k (k = 0 .. n_lines - 1) covers the ``thickness`` columns (rows for ``"horizontal"``)
    starting at ``position + k * (thickness + gap)``, taken modulo ``size``: lines that run off
    one side come back on the other, like the periodic statistics see them.  ``gap`` (default
    ``thickness``) is the background between neighbouring lines; ``length`` (default
    ``3 * size // 4``) is each line's extent along its direction, centred in the image.
    """
    if orientation not in ORIENTATIONS:
        raise ValueError(f"orientation must be one of {ORIENTATIONS}, got {orientation!r}")
    if size < 1 or n_lines < 0 or thickness < 1:
        raise ValueError(f"need size >= 1, n_lines >= 0 and thickness >= 1, got size={size}, "
                         f"n_lines={n_lines}, thickness={thickness}")
    gap = thickness if gap is None else gap
    length = 3 * size // 4 if length is None else min(length, size)
    start = (size - length) // 2
    image = np.ones((size, size), dtype=np.uint8)
    for k in range(n_lines):
        across = (position + k * (thickness + gap) + np.arange(thickness)) % size
        if orientation == "vertical":
            image[start:start + length, across] = 0
        else:
            image[across, start:start + length] = 0
    return image


def offset_extent(shape: tuple[int, int]) -> tuple[float, float, float, float]:
    """``imshow`` extent (left, right, bottom, top) that labels a centred statistic in pixel offsets.

    Column j shows r_x = j - W // 2, row i shows r_y = i - H // 2 (r = 0 at the centre pixel), so the
    axes run from -(n // 2) to (n - 1) // 2; half-pixel margins centre each pixel on its offset.
    """
    h, w = shape
    return (-(w // 2) - 0.5, (w - 1) // 2 + 0.5, (h - 1) // 2 + 0.5, -(h // 2) - 0.5)


def show_image_and_statistics(image: np.ndarray, stats: np.ndarray, axes: tuple[Axes, Axes], *,
                              title: str = "", cmap: str = "viridis") -> None:
    """Draw ``image`` (H, W) on ``axes[0]`` and its centred statistics (H, W) on ``axes[1]`` with a colour bar."""
    ax_image, ax_stats = axes
    ax_image.imshow(image, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax_image.set(title=title or "image", xlabel="x (px)", ylabel="y (px)")
    shown = ax_stats.imshow(stats, cmap=cmap, extent=offset_extent(stats.shape), interpolation="nearest")
    ax_stats.set(title="f(r)" + (f" of {title}" if title else ""), xlabel="r_x (px)", ylabel="r_y (px)")
    ax_stats.figure.colorbar(shown, ax=ax_stats, fraction=0.046, pad=0.04)


def lines_explorer(size: int, *, phase: float = 0.0, eps: float = 0.25
                   ) -> tuple[Callable[..., None], dict[str, Any]]:
    """The demo's redraw function and its slider widgets, for ``ipywidgets.interactive(update, **controls)``.

    ``update(position, n_lines, thickness, orientation)`` draws the lines image, computes its
    :func:`~utils.stats.spatial_statistics` and shows both (``plt.show()``), so calling it once
    directly also gives a static figure where widgets do not run (papermill, exported HTML).
    """
    import ipywidgets as widgets  # imported here: only the demo needs it

    def update(position: int = size // 4, n_lines: int = 2, thickness: int = max(1, size // 32),
               orientation: str = "vertical") -> None:
        image = draw_lines(size, n_lines=n_lines, position=position, thickness=thickness,
                           orientation=orientation)
        stats = spatial_statistics(torch.as_tensor(image, dtype=torch.float32), phase=phase, eps=eps)
        fig, axes = plt.subplots(1, 2, figsize=(9, 4))
        show_image_and_statistics(image, stats.numpy(), axes,
                                  title=f"{n_lines} {orientation} line(s), {thickness} px")
        fig.tight_layout()
        plt.show()

    controls = {
        "position": widgets.IntSlider(value=size // 4, min=0, max=size - 1, description="position"),
        "n_lines": widgets.IntSlider(value=2, min=1, max=6, description="lines"),
        "thickness": widgets.IntSlider(value=max(1, size // 32), min=1, max=max(1, size // 8),
                                       description="thickness"),
        "orientation": widgets.ToggleButtons(options=list(ORIENTATIONS), value="vertical",
                                             description="orientation"),
    }
    return update, controls
