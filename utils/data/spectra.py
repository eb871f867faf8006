"""The spectra cache of a dataset: the power spectra of every image's statistics, computed once.

Periodic training compares statistics by Parseval from the targets' power spectra
(:class:`utils.statistics.objective.Objective`); they do not depend on the model, so they are computed once per
dataset and stored beside it (``spectra_phase<p>_eps<e>.npy`` and its ``.json``), with each image's largest
statistic (its f(0): the scale of ``normalize_stats``).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from utils.checks import positive_int
from utils.files import atomic_path, write_json
from utils.progress import progress_bar
from utils.statistics.spectral import power_spectrum
from utils.statistics.two_point import phase_indicator

__all__ = ['compute_spectra_cache', 'statistic_peaks', 'spectra_cache']


def compute_spectra_cache(images: np.ndarray, *, batch_size: int = 256, phase: float = 0.0,
                          eps: float = 0.25, progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Power spectra of every image's statistics, and each image's largest statistic.

    Returns ``(spectra, peaks)``: ``spectra`` float32 (n, H, W//2 + 1), item ``k`` =
    ``utils.statistics.spectral.power_spectrum(images[k], phase=phase, eps=eps)`` = |rfft2(m)|² / S of the
    soft indicator m (computed in float64, then rounded), from which the training loss gets
    || f(recon) - f(image) ||² by Parseval; ``peaks`` float64 (n,), f_k(0) = mean(m²), the
    r = 0 value and so the largest of image k's statistics (an autocorrelation peaks at r = 0),
    ~ its line volume fraction.  The statistics themselves are never formed.  Computed on the
    CPU in batches of ``batch_size``.
    """
    if not isinstance(images, np.ndarray) or images.ndim != 3:
        raise ValueError(f"images must be a numpy array of shape (n, H, W), got "
                         f"{type(images).__name__} {getattr(images, 'shape', '')}")
    positive_int(batch_size, "batch_size")
    n, h, w = images.shape
    spectra = np.empty((n, h, w // 2 + 1), dtype=np.float32)
    peaks = np.empty(n, dtype=np.float64)
    starts = range(0, n, batch_size)
    with torch.inference_mode():
        for a in progress_bar(starts, desc="power spectra", disable=not progress, unit="batch"):
            x = torch.from_numpy(np.asarray(images[a:a + batch_size], dtype=np.float64))
            spectra[a:a + batch_size] = power_spectrum(x, phase=phase, eps=eps).numpy()
            peaks[a:a + batch_size] = statistic_peaks(images[a:a + batch_size], phase=phase, eps=eps)
    return spectra, peaks


def statistic_peaks(images: np.ndarray, *, phase: float = 0.0, eps: float = 0.25,
                    batch_size: int = 4096) -> np.ndarray:
    """f(0) = mean(m²) of each image's soft indicator m, float64 (n,): the largest of its periodic statistics
    (Cauchy-Schwarz); of the non-periodic ones, far offsets resting on few pairs may exceed it."""
    return np.concatenate([phase_indicator(torch.from_numpy(np.asarray(images[a:a + batch_size], dtype=np.float64)),
                                           phase, eps).square().mean(dim=(-2, -1)).numpy()
                           for a in range(0, len(images), batch_size)] or [np.empty(0)])


def spectra_cache(folder: str | os.PathLike, images: np.ndarray, *, phase: float = 0.0, eps: float = 0.25,
                  progress: bool = True, chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """:func:`compute_spectra_cache` of a dataset's images, computed once and cached in its folder.

    Returns ``(spectra, peaks)`` as :func:`compute_spectra_cache` does, ``spectra`` as a read-only
    memory map.  Files: ``spectra_phase<p>_eps<e>.npy`` and ``spectra_phase<p>_eps<e>.json``
    (phase, eps, image shape and the peaks).  Each is written atomically, the json last and only
    after any old one was removed, so an array without its matching json is never used: it is
    recomputed (as is a cache of other images, another phase or eps, or an unreadable one).
    """
    stem = f"spectra_phase{phase:g}_eps{eps:g}"
    path, meta_path = Path(folder) / f"{stem}.npy", Path(folder) / f"{stem}.json"
    cached = _read_spectra_cache(path, meta_path, images.shape, phase, eps)
    if cached is not None:
        return cached
    n, h, w = images.shape
    meta_path.unlink(missing_ok=True)              # the json vouches for the array: drop it first
    peaks = np.empty(n, dtype=np.float64)
    with atomic_path(path) as tmp:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(n, h, w // 2 + 1))
        starts = range(0, n, chunk)
        for a in progress_bar(starts, desc="power spectra of the dataset", disable=not progress, unit="chunk"):
            out[a:a + chunk], peaks[a:a + chunk] = compute_spectra_cache(images[a:a + chunk], phase=phase,
                                                                         eps=eps, progress=False)
        out.flush()
        del out
    write_json(meta_path, {"format": 1, "phase": phase, "eps": eps, "image_shape": [n, h, w],
                           "what": f"{path.name}: power_spectrum(image) float32 (n, H, W//2+1); "
                                   "peaks: f(0) = mean(m^2), each image's largest statistic",
                           "largest_statistic": float(peaks.max()), "peaks": peaks.tolist()})
    return np.load(path, mmap_mode="r"), peaks


def _read_spectra_cache(path: Path, meta_path: Path, image_shape: tuple[int, ...], phase: float,
                        eps: float) -> tuple[np.ndarray, np.ndarray] | None:
    """The cached (spectra, peaks) when both files exist and match the images, phase and eps; else None."""
    if not (path.is_file() and meta_path.is_file()):
        return None
    n, h, w = image_shape
    try:
        meta = json.loads(meta_path.read_text())
        peaks = np.asarray(meta["peaks"], dtype=np.float64)
        spectra = np.load(path, mmap_mode="r")
        if (meta.get("format") == 1 and meta["phase"] == phase and meta["eps"] == eps
                and tuple(meta["image_shape"]) == (n, h, w) and peaks.shape == (n,)
                and spectra.shape == (n, h, w // 2 + 1) and spectra.dtype == np.float32):
            return spectra, peaks
    except (ValueError, OSError, KeyError, TypeError):
        pass                                       # unreadable or stale: recompute
    return None
