"""The figures of notebooks 06 and 07 (real microstructures), shown as PNGs in Jupyter like every figure here.

Conventions as in :mod:`utils.notebook.plots`: images drawn grey with phase 0 black (a three-phase image
0 black, 1 grey, 2 white), rows down and columns right; statistics maps with r = 0 at the centre,
r_y down, r_x right (:func:`utils.notebook.plots.statistics_panel`).
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.patches import Rectangle

from utils.notebook.plots import (NotebookFigure, image_and_statistics, image_panel, new_figure, statistics_panel,
                                  statistics_row)

__all__ = ["materials_and_statistics", "profiles_by_material", "autocovariance_by_material",
           "correlation_matrix", "closed_form_check", "held_out_regions", "reconstructions_by_material",
           "scores_by_material", "descriptor_ratios_by_material", "confusion_table", "codes_map", "samples_by_material"]


def _grey(image: np.ndarray) -> np.ndarray:
    """Phase labels 0 .. k-1 as grey levels in [0, 1] (0 black, k-1 white)."""
    image = np.asarray(image, dtype=np.float64)
    top = image.max()
    return image / top if top > 0 else image


def materials_and_statistics(images: Mapping[str, np.ndarray], stats: Mapping[str, np.ndarray], *,
                             title: str = "") -> NotebookFigure:
    """Each image over its statistics map (each map on its own colour scale: volume fractions differ)."""
    return statistics_row([_grey(a) for a in images.values()], [stats[name] for name in images], list(images),
                          shared_scale=False, ylabel="f(r), phase 0", suptitle=title, cell=(2.0, 4.3))


def profiles_by_material(directional: Mapping[str, Mapping[str, np.ndarray]], radial: Mapping[str, np.ndarray], *,
                         ylabel: str = "f(r)") -> NotebookFigure:
    """One small panel per material: f along x and y (and both diagonals) and its radial mean, against |r| in px."""
    n = len(radial)
    ncols = min(n, 5)
    nrows = -(-n // ncols)
    fig = new_figure((2.6 * ncols, 2.3 * nrows))
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    styles = {"x": "-", "y": "--", "diagonal": ":", "antidiagonal": "-."}
    for ax, name in zip(axes, radial):
        ax.plot(np.arange(len(radial[name])), radial[name], color="black", lw=2, label="radial mean")
        for direction, values in directional[name].items():
            step = np.sqrt(2.0) if "diagonal" in direction else 1.0      # |r| of the k-th diagonal offset
            ax.plot(step * np.arange(len(values)), values, styles[direction], lw=1, label=direction)
        ax.set_xlim(0, len(radial[name]) - 1)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("|r| (px)", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0].set_ylabel(ylabel)
    axes[0].legend(fontsize=6)
    for ax in axes[n:]:
        ax.set_axis_off()
    fig.tight_layout()
    return fig


def autocovariance_by_material(radial: Mapping[str, np.ndarray], lengths: Mapping[str, float]) -> NotebookFigure:
    """The radial profiles of the normalised autocovariance of every material on one axis (1 at r = 0)."""
    fig = new_figure((6.5, 3.8))
    ax = fig.subplots()
    for name, values in radial.items():
        ax.plot(np.arange(len(values)), values, label=f"{name} (ξ = {lengths[name]:.1f} px)")
    ax.axhline(np.exp(-1), color="grey", lw=0.8, ls=":")
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xlabel("|r| (px)")
    ax.set_ylabel("(f - φ²) / (φ (1 - φ))")
    ax.set_title("normalised autocovariance: the shape of each structure, whatever its volume fraction", fontsize=9)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def correlation_matrix(image: np.ndarray, stats: Mapping[tuple[int, int], np.ndarray]) -> NotebookFigure:
    """A three-phase image beside its auto- (diagonal) and cross-correlations (above it), one colour scale each."""
    phases = sorted({p for pair in stats for p in pair})
    k = len(phases)
    fig = new_figure((2.3 * (k + 1), 2.3 * k))
    axes = fig.subplots(k, k + 1, squeeze=False)
    image_panel(axes[0, 0], _grey(image), "phases 0 / 1 / 2")
    for row in range(1, k):
        axes[row, 0].set_axis_off()
    for i, p in enumerate(phases):
        for j, q in enumerate(phases):
            ax = axes[i, j + 1]
            if (p, q) in stats:
                statistics_panel(ax, np.asarray(stats[(p, q)]), f"f_{p}{q}", colorbar=False, axes_labels=False)
            else:
                ax.set_axis_off()
    fig.tight_layout()
    return fig


def closed_form_check(k: np.ndarray, measured: np.ndarray, exact: np.ndarray, *, title: str = "") -> NotebookFigure:
    """Measured radial f of the overlapping discs against the Boolean model's closed form."""
    fig = new_figure((5.0, 3.4))
    ax = fig.subplots()
    ax.plot(k, exact, color="black", lw=2, label="closed form")
    ax.plot(k, measured, "o", ms=3, label="measured (radial mean)")
    ax.set_xlabel("|r| (px)")
    ax.set_ylabel("P(x and x + r in a disc)")
    ax.set_title(title or "overlapping discs: measured against exact", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def held_out_regions(image: np.ndarray, train_columns: tuple[int, int], test_columns: tuple[int, int],
                     corners: Mapping[str, np.ndarray], size: int, *, title: str = "") -> NotebookFigure:
    """A micrograph with its training (blue) and test (orange) column regions and some crops outlined.

    ``corners``: ``{"train": (n, 2) array of (y, x), "test": ...}`` top-left corners of crops of ``size``.
    """
    fig = new_figure((4.6, 4.6))
    ax = fig.subplots()
    image_panel(ax, _grey(image), title or "held-out region", axes_labels=True)
    colours = {"train": "tab:blue", "test": "tab:orange"}
    for split, (start, stop) in (("train", train_columns), ("test", test_columns)):
        ax.axvspan(start - 0.5, stop - 0.5, color=colours[split], alpha=0.12, label=f"{split} region")
        for y, x in np.asarray(corners.get(split, np.zeros((0, 2))), dtype=int):
            ax.add_patch(Rectangle((x - 0.5, y - 0.5), size, size, fill=False, lw=1, ec=colours[split]))
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


def reconstructions_by_material(examples: Mapping[str, Mapping[str, np.ndarray]],
                                stats: Mapping[str, Mapping[str, np.ndarray]], titles: Mapping[str, str]) -> NotebookFigure:
    """One row per material: each method's image (``titles``: method -> column title) beside its
    statistics map; one colour scale per row, so that a material's maps compare by eye."""
    methods = list(titles)
    fig = new_figure((2.9 * len(methods), 1.55 * len(examples) + 0.4))
    axes = fig.subplots(len(examples), 2 * len(methods), squeeze=False)
    for row, (material, images) in enumerate(examples.items()):
        maps = [np.asarray(stats[material][m]) for m in methods]
        lo, hi = min(float(f.min()) for f in maps), max(float(f.max()) for f in maps)
        for col, (method, f) in enumerate(zip(methods, maps)):
            image_and_statistics(axes[row, 2 * col:2 * col + 2], np.clip(images[method], 0, 1), f, title=titles[method],
                                 vmin=lo, vmax=hi, colorbar=False, axes_labels=False)
            for ax in axes[row, 2 * col:2 * col + 2]:
                ax.set_title(ax.get_title() if row == 0 else "", fontsize=8)
        axes[row, 0].set_ylabel(material, fontsize=9)
    fig.tight_layout()
    return fig


def scores_by_material(scores: pd.DataFrame, labels: Mapping[str, str]) -> NotebookFigure:
    """Mean autocovariance error and volume-fraction difference per material, one bar per method
    (``labels``: method -> legend text; the rows of ``scores`` as utils.evaluation.micro.score makes them)."""
    shown = scores.assign(method=scores["method"].map(labels))
    fig = new_figure((11, 3.6))
    axes = fig.subplots(1, 2)
    for ax, column, name in zip(axes, ("autocovariance_mse", "vf_diff"),
                                ("autocovariance error (mean square, lower is better)",
                                 "volume-fraction difference (percentage points)")):
        sns.barplot(data=shown, x="material", y=column, hue="method", hue_order=list(labels.values()), ax=ax,
                    errorbar=None)
        ax.set(title=name, xlabel="", ylabel="")
        ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    axes[0].set_yscale("log")
    axes[1].get_legend().remove()
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def descriptor_ratios_by_material(ratios: Mapping[str, pd.DataFrame], labels: Mapping[str, str],
                                  columns: Mapping[str, str]) -> NotebookFigure:
    """One panel per descriptor (``columns``: column -> title): each method's ratio to the originals per
    material (``ratios``: method -> material x descriptor, utils.statistics.descriptors.descriptor_ratios), on a log
    axis, with 1 (equal) drawn and the band 0.75-1.33 shaded."""
    fig = new_figure((3.0 * len(columns), 3.4))
    axes = np.atleast_1d(fig.subplots(1, len(columns)))
    materials = sorted(set().union(*(r.index for r in ratios.values())))
    width = 0.8 / max(1, len(ratios))
    for ax, (column, title) in zip(axes, columns.items()):
        ax.axhspan(0.75, 1.33, color="0.9", zorder=0)
        ax.axhline(1.0, color="black", lw=0.8)
        for j, (method, table) in enumerate(ratios.items()):
            values = table[column].reindex(materials).clip(lower=1e-2).to_numpy()
            ax.bar(np.arange(len(materials)) + (j - (len(ratios) - 1) / 2) * width, values, width,
                   label=labels.get(method, method))
        ax.set_yscale("log")
        ax.set_xticks(np.arange(len(materials)), materials, rotation=45, fontsize=7, ha="right")
        ax.set_title(title, fontsize=9)
    axes[0].set_ylabel("reconstruction ÷ original")
    axes[0].legend(fontsize=6)
    fig.tight_layout()
    return fig


def confusion_table(tables: Mapping[str, pd.DataFrame], accuracy: Mapping[str, float]) -> NotebookFigure:
    """The classifiers' confusion tables side by side (rows: true material, columns: predicted), titled
    with their held-out accuracy."""
    fig = new_figure((4.2 * len(tables), 3.8))
    axes = np.atleast_1d(fig.subplots(1, len(tables)))
    for ax, (name, table) in zip(axes, tables.items()):
        sns.heatmap(table, annot=True, fmt="d", cbar=False, cmap="Blues", ax=ax, annot_kws={"fontsize": 7})
        ax.set_title(f"{name}: {100 * accuracy[name]:.1f} % right", fontsize=9)
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    return fig


def codes_map(codes: np.ndarray, materials: list[str], *, title: str = "") -> NotebookFigure:
    """The codes (n, k) of the held-out crops on their first two principal axes, coloured by material."""
    centred = codes - codes.mean(axis=0)
    axes2 = np.linalg.svd(centred, full_matrices=False)[2][:2].T if codes.shape[1] > 1 else np.eye(1)
    xy = centred @ axes2
    fig = new_figure((5.2, 4.2))
    ax = fig.subplots()
    for name in sorted(set(materials)):
        pick = np.asarray(materials) == name
        ax.scatter(xy[pick, 0], xy[pick, -1], s=8, label=name)
    ax.set(xlabel="first principal axis of the codes", ylabel="second", title=title)
    ax.legend(fontsize=7, markerscale=2)
    fig.tight_layout()
    return fig


def samples_by_material(real: Mapping[str, np.ndarray], drawn: Mapping[str, Mapping[str, np.ndarray]],
                        titles: Mapping[str, str], accuracy: Mapping[tuple[str, str], float], *,
                        n_shown: int = 3) -> NotebookFigure:
    """One row per material: ``n_shown`` held-out crops, then ``n_shown`` images drawn from sampled codes by each
    method (``drawn``: method -> material -> images; ``titles``: method -> its name), each method's first image titled
    with the two-sample accuracy of its samples of that material (``accuracy[(method, material)]``; 50 %: the
    descriptors cannot tell them from the crops)."""
    materials = list(real)
    columns = 1 + len(drawn)
    fig = new_figure((1.25 * n_shown * columns + 0.6, 1.3 * len(materials) + 0.5))
    axes = fig.subplots(len(materials), n_shown * columns, squeeze=False)
    for row, material in enumerate(materials):
        groups = [("held-out crops", real[material], None)] + [
            (titles[m], images[material], accuracy.get((m, material))) for m, images in drawn.items()]
        for g, (name, images, score) in enumerate(groups):
            for j in range(n_shown):
                ax = axes[row, g * n_shown + j]
                image_panel(ax, images[j])
                if j == 0:
                    label = name if row == 0 else ""
                    if score is not None:
                        label = f"{label}\n{100 * score:.0f} % told apart" if label else f"{100 * score:.0f} % told apart"
                    ax.set_title(label, fontsize=7, loc="left")
        axes[row, 0].set_ylabel(material, fontsize=9)
        axes[row, 0].yaxis.set_visible(True)
        axes[row, 0].set_yticks([])
    fig.tight_layout()
    return fig
