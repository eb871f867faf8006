"""The figures of notebook 08 (design in the latent space), shown as PNGs in Jupyter like every figure here.

Conventions as in :mod:`utils.notebook.plots`: phase 0 black; statistics maps with r = 0 at the centre, r_y
down, r_x right; property curves against the path parameter t in [0, 1].
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from utils.notebook.plots import NotebookFigure, image_and_statistics, image_panel, new_figure

__all__ = ["designs_figure", "interpolation_figure", "comparison_figure"]


def _caption(row: pd.Series) -> str:
    return f"φ {row['volume_fraction']:.2f}, ξx/ξy {row['anisotropy']:.2f}"


def designs_figure(images: np.ndarray, table: pd.DataFrame, *, title: str, n: int = 6) -> NotebookFigure:
    """The best ``n`` designs (binarised at 0.5), each captioned with its volume fraction and anisotropy."""
    n = min(n, len(images))
    fig = new_figure((1.9 * n, 2.4))
    axes = np.atleast_1d(fig.subplots(1, n))
    for ax, image, (_, row) in zip(axes, images[:n], table.iloc[:n].iterrows()):
        image_panel(ax, (image >= 0.5).astype(float), _caption(row))
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def interpolation_figure(images: np.ndarray, table: pd.DataFrame, *, title: str) -> NotebookFigure:
    """The images along a latent path (top) and their volume fraction, correlation lengths and anisotropy (bottom)."""
    n = len(images)
    fig = new_figure((1.5 * n, 5.2))
    grid = fig.add_gridspec(2, n, height_ratios=(1, 1.3))
    for i, image in enumerate(images):
        image_panel(fig.add_subplot(grid[0, i]), (image >= 0.5).astype(float), f"t = {table['t'].iloc[i]:.2f}")
    left = fig.add_subplot(grid[1, : n // 2])
    left.plot(table["t"], table["volume_fraction"], "o-", color="black")
    left.set(xlabel="t", ylabel="volume fraction of phase 0")
    right = fig.add_subplot(grid[1, n // 2:])
    right.plot(table["t"], table["xi_x"], "o-", label="ξ along x (px)")
    right.plot(table["t"], table["xi_y"], "s--", label="ξ along y (px)")
    twin = right.twinx()
    twin.plot(table["t"], table["anisotropy"], "^:", color="grey", label="ξx / ξy")
    twin.set_ylabel("anisotropy ξx / ξy")
    right.set_xlabel("t")
    right.legend(fontsize=7, loc="upper left")
    twin.legend(fontsize=7, loc="upper right")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def comparison_figure(rows: Sequence[Mapping[str, np.ndarray]], stats: Sequence[Mapping[str, np.ndarray]],
                      titles: Mapping[str, str], names: Sequence[str]) -> NotebookFigure:
    """One row per target: the target crop and each method's design, each beside its statistics map
    (one colour scale per row); ``titles``: method -> column title, ``names``: a label per row."""
    methods = list(titles)
    fig = new_figure((2.9 * len(methods), 1.6 * len(rows) + 0.4))
    axes = fig.subplots(len(rows), 2 * len(methods), squeeze=False)
    for r, (images, maps) in enumerate(zip(rows, stats)):
        lo = min(float(np.min(maps[m])) for m in methods)
        hi = max(float(np.max(maps[m])) for m in methods)
        for c, method in enumerate(methods):
            image_and_statistics(axes[r, 2 * c:2 * c + 2], (np.asarray(images[method]) >= 0.5).astype(float),
                                 np.asarray(maps[method]), title=titles[method], vmin=lo, vmax=hi, colorbar=False,
                                 axes_labels=False)
            for ax in axes[r, 2 * c:2 * c + 2]:
                ax.set_title(ax.get_title() if r == 0 else "", fontsize=8)
        axes[r, 0].set_ylabel(names[r], fontsize=9)
    fig.tight_layout()
    return fig
