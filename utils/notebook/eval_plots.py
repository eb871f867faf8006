"""Figures of the evaluation (notebook 04, paper appendix B and C).

Like :mod:`utils.notebook.plots`, every function returns a :class:`~utils.notebook.plots.NotebookFigure` (shown as a
PNG in Jupyter, built without pyplot); save it with :func:`utils.notebook.plots.save_figure`.  The same
conventions: images black = 0 (line), white = 1; autocorrelations with r = 0 at the centre, r_x
to the right and r_y downwards, in pixels of offset.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import seaborn as sns

from utils.notebook.plots import NotebookFigure, image_and_statistics, image_panel, new_figure, statistics_of

__all__ = ["line_count_heatmaps", "volume_fraction_histogram", "overfit_histograms", "examples_with_statistics",
           "examples_with_neighbors", "choose_examples", "example_label"]


def _count_matrix(truth: np.ndarray, found: np.ndarray, counts: Sequence[int]) -> pd.DataFrame:
    table = pd.crosstab(pd.Categorical(truth, categories=counts), pd.Categorical(found, categories=counts),
                        dropna=False)
    table.index.name, table.columns.name = "original", "found"
    return table


def line_count_heatmaps(truth: np.ndarray, recon_counts: np.ndarray, nearest_counts: np.ndarray, *,
                        title: str = "") -> NotebookFigure:
    """Paper fig. 3: how many test images have each (original count, found count) pair.

    Left: line count of the reconstruction vs the original's; right: line count of the training
    image nearest to the reconstruction in statistics space vs the original's.  The diagonal
    is "right"; counts of 0 (nothing left after thresholding) get their own row/column.
    """
    truth, recon_counts, nearest_counts = (np.asarray(a, dtype=int) for a in (truth, recon_counts, nearest_counts))
    counts = list(range(0, int(max(truth.max(), recon_counts.max(), nearest_counts.max())) + 1))
    fig = new_figure((11, 4.6))
    axes = fig.subplots(1, 2)
    panels = [(recon_counts, "lines in the reconstruction"),
              (nearest_counts, "lines in the nearest training image\n(spatial-statistics MSE to the reconstruction)")]
    for ax, (found, label) in zip(axes, panels):
        matrix = _count_matrix(truth, found, counts)
        sns.heatmap(matrix, annot=True, fmt="d", cmap="Blues", cbar=False, ax=ax, square=True,
                    linewidths=0.5, linecolor="white")
        ax.invert_yaxis()
        ax.set_ylabel("lines in the original test image")
        ax.set_xlabel(label)
        agree = int((truth == found).sum())
        ax.set_title(f"{agree} / {len(truth)} on the diagonal", fontsize=10)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def volume_fraction_histogram(differences: Mapping[str, np.ndarray], *, bins: int = 20) -> NotebookFigure:
    """Paper fig. 2: histogram of the volume-fraction differences (percent) of each model."""
    fig = new_figure((6.5, 4))
    ax = fig.subplots()
    values = np.concatenate([np.asarray(v, dtype=float) for v in differences.values()])
    edges = np.histogram_bin_edges(values, bins=bins) if values.size else bins
    for name, v in differences.items():
        v = np.asarray(v, dtype=float)
        ax.hist(v, bins=edges, alpha=0.55, label=f"{name} (mean {v.mean():.1f} %)")
    ax.set_xlabel("volume-fraction difference |black(original) - black(reconstruction)| / black(original) (%)")
    ax.set_ylabel("test images")
    ax.legend(fontsize=8)
    return fig


def overfit_histograms(overfit: pd.DataFrame, space: str, *, bins: int = 30) -> NotebookFigure:
    """Paper figs 4 (``space="data"``) and 5 (``"spatial_stats"``): histograms of the mean MSE of
    each training reconstruction to the training set and of each validation reconstruction to
    the validation set.  ``overfit``: the table of :func:`utils.evaluation.evaluate.overfit_check`."""
    rows = overfit[overfit["space"] == space]
    if rows.empty:
        raise ValueError(f"no rows with space={space!r} in the overfit table; use 'data' or 'spatial_stats'")
    fig = new_figure((6.5, 4))
    ax = fig.subplots()
    edges = np.histogram_bin_edges(rows["mean_mse"], bins=bins)
    for split, label in (("train", "train reconstructions vs training set"),
                         ("val", "validation reconstructions vs validation set")):
        v = rows.loc[rows["split"] == split, "mean_mse"]
        ax.hist(v, bins=edges, alpha=0.55, label=f"{label} (n = {len(v)})")
    ax.ticklabel_format(axis="x", style="sci", scilimits=(-3, 3))
    what = "images" if space == "data" else "spatial statistics"
    ax.set_xlabel(f"mean MSE of one reconstruction to every image of its split ({what})")
    ax.set_ylabel("reconstructions")
    ax.legend(fontsize=8)
    return fig


def choose_examples(table: pd.DataFrame, n: int = 6, n_wrong: int = 2) -> np.ndarray:
    """Row positions of ``n`` examples to show: rows with the right orientation first, then up to
    ``n_wrong`` rows with the wrong one (the paper's appendix C ends with its failures); when
    there are too few of either kind the other fills the gap."""
    right = np.flatnonzero(table["orientation_correct"].to_numpy())
    wrong = np.flatnonzero(~table["orientation_correct"].to_numpy())
    n_right = max(n - min(n_wrong, len(wrong)), 0)
    take_right = right[:n_right]
    take_wrong = wrong[:n - len(take_right)]
    return np.concatenate([take_right, take_wrong]).astype(int)


def example_label(row: pd.Series, index: int) -> str:
    """"test #index" and its line count / orientation, original -> reconstruction."""
    return (f"test #{index}\n{row['n_lines']} {row['orientation']} ->\n"
            f"{row['recon_n_lines']} {row['recon_orientation']}")


def examples_with_statistics(originals: np.ndarray, recons: np.ndarray, *, labels: Sequence[str] | None = None,
                             phase: float = 0.0, eps: float = 0.25) -> NotebookFigure:
    """Appendix C.1: per row an original and its (grey) reconstruction, each beside its
    autocorrelation (one colour scale per row, colour bars, offsets in pixels)."""
    originals, recons = np.asarray(originals, dtype=np.float32), np.asarray(recons, dtype=np.float32)
    f_orig, f_recon = statistics_of(originals, phase=phase, eps=eps), statistics_of(recons, phase=phase, eps=eps)
    n = len(originals)
    fig = new_figure((13, 2.9 * n + 0.5))
    axes = fig.subplots(n, 4, squeeze=False)
    for i in range(n):
        lo, hi = float(min(f_orig[i].min(), f_recon[i].min())), float(max(f_orig[i].max(), f_recon[i].max()))
        for k, (image, f, name) in enumerate(((originals[i], f_orig[i], "original"),
                                              (recons[i], f_recon[i], "reconstruction"))):
            image_and_statistics(axes[i, 2 * k:2 * k + 2], image, f, title=name, vmin=lo, vmax=hi)
        if labels is not None:
            axes[i, 0].set_ylabel(labels[i], fontsize=8)
    fig.suptitle("Originals, reconstructions and their autocorrelations (r = 0 at the centre, r_y down)")
    fig.tight_layout()
    return fig


def examples_with_neighbors(originals: np.ndarray, recons: np.ndarray, nearest_by_image: np.ndarray,
                            nearest_by_stats: np.ndarray, *, labels: Sequence[str] | None = None) -> NotebookFigure:
    """Appendix C.2: per row an original, its reconstruction, the training image nearest to the
    reconstruction by image MSE and the one nearest by autocorrelation MSE."""
    columns = [(originals, "original"), (recons, "reconstruction"),
               (nearest_by_image, "nearest training image\nby image MSE"),
               (nearest_by_stats, "nearest training image\nby autocorrelation MSE")]
    n = len(originals)
    fig = new_figure((10, 2.6 * n + 0.4))
    axes = fig.subplots(n, 4, squeeze=False)
    for i in range(n):
        for c, (images, title) in enumerate(columns):
            image_panel(axes[i, c], np.asarray(images[i], dtype=np.float32), title if i == 0 else None)
        if labels is not None:
            axes[i, 0].set_ylabel(labels[i], fontsize=8)
    fig.tight_layout()
    return fig
