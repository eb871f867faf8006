"""Figures of the latent space (notebook 05): error against dimension, maps of the codes, robustness.

Like :mod:`utils.notebook.plots`, every function returns a :class:`~utils.notebook.plots.NotebookFigure` (shown as a
PNG in Jupyter); save it with :func:`utils.notebook.plots.save_figure`.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import seaborn as sns

from utils.notebook.plots import NotebookFigure, new_figure, statistics_of, statistics_row
from utils.project import MODEL_LABELS

__all__ = ["error_against_dimension", "latent_map", "correlation_heatmap", "robustness_curves",
           "images_with_statistics"]


def error_against_dimension(vae: pd.DataFrame, pca: pd.DataFrame, *, max_k: int | None = None) -> NotebookFigure:
    """Statistics error of each representation against the number of numbers it keeps.

    ``vae``: rows of :func:`utils.evaluation.sweep.score_sweep` (loss, latent_dim, spatial_stats_mse,
    autocovariance_mse, line_count_correct_pct); ``pca``: rows (space, k, mse) of the PCA of the
    statistics.  Left: raw statistics, middle: normalised autocovariance (log scales), right: line
    count of the VAE's reconstructions.
    """
    fig = new_figure((15, 4.2))
    axes = fig.subplots(1, 3)
    pca = pca if max_k is None else pca[pca["k"] <= max_k]
    for ax, space, column in ((axes[0], "raw", "spatial_stats_mse"), (axes[1], "autocovariance", "autocovariance_mse")):
        for loss, rows in vae.groupby("loss", sort=False):
            ax.plot(rows["latent_dim"], rows[column], "o-", label=f"{MODEL_LABELS[loss]} (latent size)")
        part = pca[pca["space"] == space]
        ax.plot(part["k"], part["mse"], "s--", color="k", label="PCA of the training statistics (k components)")
        ax.set(xlabel="numbers kept (latent size, or k)", ylabel="MSE of the statistics, test images", yscale="log",
               xscale="log", title="raw statistics f" if space == "raw" else "normalised autocovariance")
        ticks = sorted(set(vae["latent_dim"]) | set(part["k"]))
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.minorticks_off()
        ax.legend(fontsize=7)
    for loss, rows in vae.groupby("loss", sort=False):
        axes[2].plot(rows["latent_dim"], rows["line_count_correct_pct"], "o-", label=MODEL_LABELS[loss])
    axes[2].set(xlabel="latent size", ylabel="% of test images", title="line count right", ylim=(0, 100))
    axes[2].legend(fontsize=7)
    fig.tight_layout()
    return fig


def latent_map(points: np.ndarray, properties: Mapping[str, np.ndarray], *, title: str = "") -> NotebookFigure:
    """Codes mapped to 2-D (``points`` (n, 2), e.g. the first two principal components of mu), one
    panel per property, each point coloured by it."""
    fig = new_figure((4.6 * len(properties), 4.2))
    axes = np.atleast_1d(fig.subplots(1, len(properties)))
    for ax, (name, values) in zip(axes, properties.items()):
        values = np.asarray(values)
        if values.dtype.kind in "OUSb":
            for level in sorted(set(values.tolist()), key=str):
                chosen = values == level
                ax.scatter(points[chosen, 0], points[chosen, 1], s=8, label=str(level))
            ax.legend(fontsize=7, title=name)
        else:
            shown = ax.scatter(points[:, 0], points[:, 1], c=values, s=8, cmap="viridis")
            fig.colorbar(shown, ax=ax, label=name)
        ax.set(xlabel="PC 1 of mu", ylabel="PC 2 of mu", title=name)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def correlation_heatmap(correlations: np.ndarray, properties: Sequence[str]) -> NotebookFigure:
    """Pearson correlation of each latent coordinate (rows) with each property (columns)."""
    fig = new_figure((1.6 * len(properties) + 2, 0.45 * len(correlations) + 1.5))
    ax = fig.subplots()
    table = pd.DataFrame(correlations, index=[f"z{i}" for i in range(len(correlations))], columns=list(properties))
    sns.heatmap(table, annot=True, fmt=".2f", cmap="vlag", vmin=-1, vmax=1, ax=ax, cbar_kws={"label": "correlation"})
    ax.set_title("what each latent coordinate follows")
    fig.tight_layout()
    return fig


def robustness_curves(table: pd.DataFrame) -> NotebookFigure:
    """Scores of the reconstructions decoded from mu + sigma * N(0, I) against sigma: line count and
    orientation (left, %), statistics error (right).  ``table``: columns sigma,
    line_count_correct_pct, orientation_correct_pct, spatial_stats_mse."""
    fig = new_figure((10, 3.8))
    left, right = fig.subplots(1, 2)
    left.plot(table["sigma"], table["line_count_correct_pct"], "o-", label="line count right")
    left.plot(table["sigma"], table["orientation_correct_pct"], "s-", label="orientation right")
    left.set(xlabel="sigma of the noise added to mu", ylabel="% of test images", ylim=(0, 100))
    left.legend(fontsize=8)
    right.plot(table["sigma"], table["spatial_stats_mse"], "o-")
    right.set(xlabel="sigma of the noise added to mu", ylabel="statistics MSE", yscale="log")
    fig.tight_layout()
    return fig


def images_with_statistics(images: np.ndarray, titles: Sequence[str], *, suptitle: str = "") -> NotebookFigure:
    """A row of images over their statistics (the project's panel, one colour scale for the row):
    prior samples, or the steps of an interpolation."""
    images = np.asarray(images, dtype=np.float32)
    return statistics_row(images, statistics_of(images), titles, suptitle=suptitle)
