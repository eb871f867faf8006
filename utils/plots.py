"""Figures shared by training and the notebooks.

Every function returns a :class:`matplotlib.figure.Figure` built without pyplot (no global
figure state, safe inside training loops and scripts); save it with :func:`save_figure` and, in
a notebook, show it with ``display(fig)``.  Images are shown with black = 0 (line phase) and
white = 1 (background); spatial statistics with r = 0 at the centre pixel (H//2, W//2).
"""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure

from utils.stats import spatial_statistics

__all__ = ["save_figure", "to_images", "image_grid", "reconstruction_grid", "loss_curves"]


def save_figure(fig: Figure, path: str | os.PathLike, *, dpi: int = 100) -> Path:
    """Write ``fig`` to ``path`` atomically (temporary file in the same folder, then rename).

    The format follows the suffix (``.png``, ``.pdf``, ...); parent folders are created.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")
    try:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def to_images(x: np.ndarray | torch.Tensor) -> np.ndarray:
    """(N, H, W) or (N, 1, H, W) array/tensor -> float32 numpy array (N, H, W)."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 4 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 3:
        raise ValueError(f"expected images of shape (N, H, W) or (N, 1, H, W), got {x.shape}")
    return x


def _bare(ax) -> None:
    """No ticks but keep the frame, so that white images stay visible on a white page."""
    ax.set_xticks([])
    ax.set_yticks([])


def _statistics(images: np.ndarray, phase: float, eps: float) -> np.ndarray:
    with torch.no_grad():
        return spatial_statistics(torch.from_numpy(images), phase=phase, eps=eps).numpy()


def image_grid(images: np.ndarray | torch.Tensor, *, ncols: int = 8, titles: Sequence[str] | None = None,
               suptitle: str | None = None, cell: float = 1.4) -> Figure:
    """The images (N, H, W) or (N, 1, H, W) in [0, 1] on a grid of ``ncols`` columns, grey scale."""
    images = to_images(images)
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = max(1, -(-n // ncols))
    fig = Figure(figsize=(cell * ncols, cell * nrows + (0.4 if suptitle else 0.0)))
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    for k, ax in enumerate(axes):
        _bare(ax) if k < n else ax.set_axis_off()
        if k < n:
            ax.imshow(images[k], cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
            if titles is not None:
                ax.set_title(str(titles[k]), fontsize=8)
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def reconstruction_grid(originals: np.ndarray | torch.Tensor,
                        recons: np.ndarray | torch.Tensor | Mapping[str, np.ndarray | torch.Tensor], *,
                        phase: float = 0.0, eps: float = 0.25, max_rows: int = 8, cell: float = 1.5,
                        suptitle: str | None = None) -> Figure:
    """Originals and reconstructions next to their spatial statistics, one image per row.

    ``originals``: (N, H, W) or (N, 1, H, W) in [0, 1].  ``recons``: the same shape, or a dict
    ``{model name: reconstructions}`` to compare models side by side.  Columns: original,
    f(original), then for each model its reconstruction and f(reconstruction), where f =
    ``spatial_statistics(., phase, eps)``.  The statistics of one row share a colour scale.
    """
    originals = to_images(originals)[:max_rows]
    named = dict(recons) if isinstance(recons, Mapping) else {"reconstruction": recons}
    named = {name: to_images(r)[:max_rows] for name, r in named.items()}
    for name, r in named.items():
        if r.shape != originals.shape:
            raise ValueError(f"reconstructions {name!r} have shape {r.shape}, originals {originals.shape}")
    stats = {"original": _statistics(originals, phase, eps)}
    stats.update({name: _statistics(r, phase, eps) for name, r in named.items()})
    columns = [("original", originals, "original")]
    for name, r in named.items():
        columns.append((name, r, name))

    n, ncols = len(originals), 2 * len(columns)
    fig = Figure(figsize=(cell * ncols, cell * n + 0.6))
    axes = fig.subplots(n, ncols, squeeze=False)
    for i in range(n):
        lo = min(float(s[i].min()) for s in stats.values())
        hi = max(float(s[i].max()) for s in stats.values())
        for c, (title, images, key) in enumerate(columns):
            ax_img, ax_stat = axes[i, 2 * c], axes[i, 2 * c + 1]
            ax_img.imshow(images[i], cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
            ax_stat.imshow(stats[key][i], cmap="viridis", vmin=lo, vmax=hi, interpolation="nearest")
            if i == 0:
                ax_img.set_title(title, fontsize=8)
                ax_stat.set_title(f"f({title})", fontsize=8)
    for ax in axes.ravel():
        _bare(ax)
    fig.suptitle(suptitle or "images and their two-point autocorrelations f (r = 0 at the centre)",
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
        raise ValueError("no train_*/val_* columns found in the histories; pass utils.train.read_history(run)")
    return pd.concat(frames, ignore_index=True)


def loss_curves(histories: Mapping[str, pd.DataFrame], *,
                components: Sequence[str] = ("total", "recon", "kl"), log_y: bool = True,
                cell: tuple[float, float] = (4.2, 3.2)) -> Figure:
    """One panel per loss component, one line per run (colour) and split (solid train, dashed val).

    ``histories``: ``{run name: utils.train.read_history(run_dir)}``.  Different runs' "recon"
    terms are in different units (statistics vs pixels), which is why each run gets its own
    colour and the y axis is logarithmic by default.
    """
    import seaborn as sns

    long = _long_history(histories, components)
    fig = Figure(figsize=(cell[0] * len(components), cell[1]))
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
