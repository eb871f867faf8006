"""Figures: how the project draws images, statistics and training curves.

Every function returns a :class:`NotebookFigure`, a matplotlib Figure built without pyplot (no
global figure state, safe inside training loops and scripts) that shows itself as a PNG in
Jupyter: ``display(fig)`` (or a figure as the last line of a cell) renders it in JupyterLab and
in papermill's executed copies alike, whether or not pyplot was ever imported in the kernel.
Save one with :func:`save_figure` (atomic).

Conventions, written on the axes of every figure
------------------------------------------------
* Images: black = 0 (the line phase), white = 1 (background); row 0 at the top.
* Statistics f(r): r = 0 at the centre pixel (H//2, W//2); axes in pixels of offset, **r_x to the
  right and r_y downwards**, the same directions as the image's columns and rows, so a structure
  that runs down and to the right in the image does so in its statistics too
  (:func:`offset_extent`).  One panel draws an image beside its statistics everywhere:
  :func:`image_and_statistics`.
"""
from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from utils.checks import ArrayLike, image_batch
from utils.files import atomic_path
from utils.statistics.two_point import spatial_statistics

__all__ = ["NotebookFigure", "new_figure", "save_figure", "to_images", "statistics_of", "offset_extent",
           "image_panel", "statistics_panel", "image_and_statistics", "statistics_row", "image_grid", "reconstruction_grid",
           "loss_curves", "profiles_through_origin"]


class NotebookFigure(Figure):
    """A Figure that Jupyter shows as a PNG (``_repr_png_``), with no pyplot backend involved."""

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", bbox_inches="tight")
        return buffer.getvalue()


def new_figure(figsize: tuple[float, float], **kwargs) -> NotebookFigure:
    """An empty :class:`NotebookFigure` of ``figsize`` inches (keyword arguments go to Figure)."""
    return NotebookFigure(figsize=figsize, **kwargs)


def save_figure(fig: Figure, path: str | os.PathLike, *, dpi: int = 100) -> Path:
    """Write ``fig`` to ``path`` atomically; the format follows the suffix (``.png``, ``.pdf``, ...)."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight")
    return Path(path)


def to_images(x: ArrayLike) -> np.ndarray:
    """(N, H, W) or (N, 1, H, W) array/tensor -> float32 numpy array (N, H, W)."""
    return np.asarray(image_batch(x), dtype=np.float32)


def statistics_of(images: np.ndarray, *, phase: float = 0.0, eps: float = 0.25) -> np.ndarray:
    """``spatial_statistics`` of (N, H, W) images, as a float32 numpy array (r = 0 at the centre)."""
    with torch.no_grad():
        return spatial_statistics(torch.from_numpy(to_images(images)), phase=phase, eps=eps).numpy()


def offset_extent(shape: tuple[int, int]) -> tuple[float, float, float, float]:
    """``imshow`` extent (left, right, bottom, top) that labels a centred statistic in pixel offsets.

    Column j shows r_x = j - W // 2, row i shows r_y = i - H // 2 (r = 0 at the centre pixel), so the
    axes run from -(n // 2) to (n - 1) // 2, r_y growing downwards like the image's rows; half-pixel
    margins centre each pixel on its offset.
    """
    h, w = shape
    return (-(w // 2) - 0.5, (w - 1) // 2 + 0.5, (h - 1) // 2 + 0.5, -(h // 2) - 0.5)


def _bare(ax: Axes) -> None:
    """No ticks but keep the frame, so that white images stay visible on a white page."""
    ax.set_xticks([])
    ax.set_yticks([])


def image_panel(ax: Axes, image: np.ndarray, title: str | None = None, *, axes_labels: bool = False) -> None:
    """``image`` (H, W) in [0, 1] in grey, black = 0 (line); pixel axes only when ``axes_labels``."""
    ax.imshow(image, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    if axes_labels:
        ax.set(xlabel="x (px)", ylabel="y (px, down)")
    else:
        _bare(ax)
    if title:
        ax.set_title(title, fontsize=9)


def statistics_panel(ax: Axes, stats: np.ndarray, title: str | None = None, *, vmin: float | None = None,
                     vmax: float | None = None, colorbar: bool = True, axes_labels: bool = True,
                     cmap: str = "viridis") -> None:
    """Centred statistics (H, W) in offsets r (r_x right, r_y down), with a colour bar by default."""
    shown = ax.imshow(stats, cmap=cmap, vmin=vmin, vmax=vmax, extent=offset_extent(stats.shape),
                      interpolation="nearest")
    if axes_labels:
        ax.set(xlabel="r_x (px)", ylabel="r_y (px, down)")
        ax.tick_params(labelsize=7)
    else:
        _bare(ax)
    if colorbar:
        ax.figure.colorbar(shown, ax=ax, fraction=0.046, pad=0.04)
    if title:
        ax.set_title(title, fontsize=9)


def image_and_statistics(axes: Sequence[Axes], image: np.ndarray, stats: np.ndarray, *, title: str = "",
                         vmin: float | None = None, vmax: float | None = None, colorbar: bool = True,
                         axes_labels: bool = True) -> None:
    """The project's one panel: ``image`` on ``axes[0]`` beside its statistics ``stats`` on ``axes[1]``."""
    image_panel(axes[0], image, title or "image", axes_labels=axes_labels)
    statistics_panel(axes[1], stats, f"f(r) of {title}" if title else "f(r)", vmin=vmin, vmax=vmax,
                     colorbar=colorbar, axes_labels=axes_labels)


def statistics_row(images: Sequence[np.ndarray], stats: Sequence[np.ndarray], titles: Sequence[str], *,
                   shared_scale: bool = True, ylabel: str = "f(r)", suptitle: str = "",
                   cell: tuple[float, float] = (1.7, 3.8)) -> NotebookFigure:
    """A row of images (grey, in [0, 1]) over their statistics maps, the project's panel for each; one
    colour scale for the row when ``shared_scale``, else each map on its own (volume fractions differ)."""
    stats = [np.asarray(f) for f in stats]
    lo, hi = (min(float(f.min()) for f in stats), max(float(f.max()) for f in stats)) if shared_scale else (None, None)
    fig = new_figure((cell[0] * len(images), cell[1]))
    axes = fig.subplots(2, len(images), squeeze=False)
    for i, (image, f) in enumerate(zip(images, stats)):
        image_and_statistics(axes[:, i], np.asarray(image), f, title=titles[i], vmin=lo, vmax=hi, colorbar=False,
                             axes_labels=False)
        axes[0, i].set_title(titles[i], fontsize=8)
        axes[1, i].set_title("")
    axes[1, 0].set_ylabel(ylabel)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def image_grid(images: ArrayLike, *, ncols: int = 8, titles: Sequence[str] | None = None,
               suptitle: str | None = None, cell: float = 1.4) -> NotebookFigure:
    """The images (N, H, W) or (N, 1, H, W) in [0, 1] on a grid of ``ncols`` columns, grey scale."""
    images = to_images(images)
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = max(1, -(-n // ncols))
    fig = new_figure((cell * ncols, cell * nrows + (0.4 if suptitle else 0.0) + (0.3 * nrows if titles else 0)))
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    for k, ax in enumerate(axes):
        if k < n:
            image_panel(ax, images[k], None if titles is None else str(titles[k]))
        else:
            ax.set_axis_off()
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def reconstruction_grid(originals: ArrayLike, recons: ArrayLike | Mapping[str, ArrayLike], *, phase: float = 0.0,
                        eps: float = 0.25, max_rows: int = 8, cell: float = 1.5,
                        suptitle: str | None = None) -> NotebookFigure:
    """Originals and reconstructions next to their spatial statistics, one image per row.

    ``recons``: the originals' shape, or ``{model name: reconstructions}`` to compare models side
    by side.  Columns: original, f(original), then each model's reconstruction and its f.  The
    statistics of one row share a colour scale (compact panels: no axes, no colour bars).
    """
    originals = to_images(originals)[:max_rows]
    named = dict(recons) if isinstance(recons, Mapping) else {"reconstruction": recons}
    named = {name: to_images(r)[:max_rows] for name, r in named.items()}
    for name, r in named.items():
        if r.shape != originals.shape:
            raise ValueError(f"reconstructions {name!r} have shape {r.shape}, originals {originals.shape}")
    columns = {"original": originals, **named}
    stats = {name: statistics_of(images, phase=phase, eps=eps) for name, images in columns.items()}
    n, ncols = len(originals), 2 * len(columns)
    fig = new_figure((cell * ncols, cell * n + 0.6))
    axes = fig.subplots(n, ncols, squeeze=False)
    for i in range(n):
        lo, hi = min(float(s[i].min()) for s in stats.values()), max(float(s[i].max()) for s in stats.values())
        for c, (name, images) in enumerate(columns.items()):
            image_and_statistics(axes[i, 2 * c:2 * c + 2], images[i], stats[name][i], vmin=lo, vmax=hi,
                                 colorbar=False, axes_labels=False)
            for ax, title in zip(axes[i, 2 * c:2 * c + 2], (name, f"f({name})")):
                ax.set_title(title if i == 0 else "", fontsize=8)
    fig.suptitle(suptitle or "images and their two-point autocorrelations f (r = 0 at the centre, r_y down)",
                 fontsize=9)
    return fig


def _long_history(histories: Mapping[str, pd.DataFrame], components: Sequence[str]) -> pd.DataFrame:
    """Training histories -> long table with columns run, epoch, split, component, value."""
    frames = []
    for run, history in histories.items():
        for split in ("train", "val"):
            for component in components:
                column = f"{split}_{component}"
                if column in history:
                    frames.append(pd.DataFrame({"run": run, "epoch": history["epoch"], "split": split,
                                                "component": component, "value": history[column]}))
    if not frames:
        raise ValueError("no train_*/val_* columns found in the histories; pass utils.training.runs.read_history(run)")
    return pd.concat(frames, ignore_index=True)


def loss_curves(histories: Mapping[str, pd.DataFrame], *,
                components: Sequence[str] = ("total", "recon", "kl"), log_y: bool = True,
                cell: tuple[float, float] = (4.2, 3.2)) -> NotebookFigure:
    """One panel per loss component, one line per run (colour) and split (solid train, dashed val).

    ``histories``: ``{run name: utils.training.runs.read_history(run_dir)}``.  Different runs' "recon"
    terms are in different units (statistics vs pixels), which is why each run gets its own
    colour and the y axis is logarithmic by default.
    """
    long = _long_history(histories, components)
    fig = new_figure((cell[0] * len(components), cell[1]))
    axes = np.atleast_1d(fig.subplots(1, len(components), squeeze=False)).ravel()
    for ax, component in zip(axes, components):
        part = long[long["component"] == component]
        sns.lineplot(data=part, x="epoch", y="value", hue="run", style="split",
                     style_order=["train", "val"], marker="o", markersize=3, ax=ax)
        if log_y and (part["value"] > 0).all():
            ax.set_yscale("log")
        ax.set_title(component)
        ax.set_ylabel("loss per image")
        if ax is not axes[-1] and ax.get_legend() is not None:
            ax.get_legend().remove()
    sns.move_legend(axes[-1], "upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    fig.tight_layout()
    return fig


def profiles_through_origin(stats: Mapping[str, np.ndarray], *, cell: tuple[float, float] = (5.0, 3.6)
                            ) -> NotebookFigure:
    """Cuts of centred statistics (H, W) through r = 0, along r_y (r_x = 0) and along r_x (r_y = 0):
    one panel per named statistic."""
    fig = new_figure((cell[0] * len(stats), cell[1]))
    axes = np.atleast_1d(fig.subplots(1, len(stats), squeeze=False)).ravel()
    for ax, (name, f) in zip(axes, stats.items()):
        h, w = f.shape
        ax.plot(np.arange(h) - h // 2, f[:, w // 2], label="along r_y (r_x = 0)")
        ax.plot(np.arange(w) - w // 2, f[h // 2, :], label="along r_x (r_y = 0)")
        ax.set(title=name, xlabel="offset r (px)", ylabel="f(r)")
        ax.legend(fontsize=8)
    fig.suptitle("profiles of f through r = 0")
    fig.tight_layout()
    return fig
