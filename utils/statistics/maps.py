"""Reading a statistics map: the cutoff window, radial and directional profiles (notebook 06).

A statistics map ``f`` here is what :mod:`utils.statistics.two_point` returns: shape ``(..., H, W)``, the zero
offset r = 0 at index ``(H // 2, W // 2)``, the offset r = (r_y, r_x) at index
``(H // 2 + r_y, W // 2 + r_x)``, r_y pointing **down** the rows and r_x right along the columns.
Every function reads the *whole* map, all four quadrants: a cross-correlation is not symmetric,
f_ab(r) = f_ba(-r), so a profile read from one quadrant only would be wrong for it.

* :func:`cutoff_window`: the offsets |r_y| <= c and |r_x| <= c only (PyMKS's ``cutoff``): beyond
  a few correlation lengths a micrograph's statistics are noise, and a crop of side n has few
  pairs at offsets near n.
* :func:`radial_profile`: the mean of f over the offsets of each distance k = round(|r|).
* :func:`directional_profiles`: f along the four lattice directions through r = 0, each the mean of
  the two opposite half-lines (k, -k): "x" (r = (0, ±k)), "y" (r = (±k, 0)), "diagonal" (r = ±(k, k),
  down-right) and "antidiagonal" (r = ±(k, -k), down-left), k = 0 .. the longest that fits.

>>> import torch
>>> f = torch.zeros(5, 5); f[2, 2] = 1.0; f[2, 3] = f[2, 1] = 0.5   # r = 0 and r = (0, ±1)
>>> cutoff_window(f, 1)
tensor([[0.0000, 0.0000, 0.0000],
        [0.5000, 1.0000, 0.5000],
        [0.0000, 0.0000, 0.0000]])
>>> directional_profiles(f)["x"], directional_profiles(f)["y"]
(tensor([1.0000, 0.5000, 0.0000]), tensor([1., 0., 0.]))
>>> radial_profile(f)[1]            # k = 1: eight offsets (|r| = 1 and √2), two of them 0.5
tensor([1.0000, 0.1250, 0.0000])
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch

from utils.statistics.two_point import autocorrelation, check_spatial, cross_correlation

__all__ = ["CORRELATION_LEVEL", "cutoff_window", "offset_distances", "radial_profile", "directional_profiles",
           "phase_correlations", "correlation_length"]

CORRELATION_LEVEL = math.exp(-1)     # the correlation length is where the normalised autocovariance falls to 1/e


def cutoff_window(f: torch.Tensor, cutoff: int) -> torch.Tensor:
    """The offsets |r_y|, |r_x| <= ``cutoff`` of ``f`` ``(..., H, W)``: shape ``(..., 2c + 1, 2c + 1)``, r = 0 at (c, c)."""
    check_spatial(f, 2, "f")
    h, w = f.shape[-2:]
    largest = min((h - 1) // 2, (w - 1) // 2)
    if not 0 <= cutoff <= largest:
        raise ValueError(f"cutoff must lie in 0..{largest} for statistics of {h} x {w} (both signs of every "
                         f"offset must exist), got {cutoff}")
    cy, cx = h // 2, w // 2
    return f[..., cy - cutoff:cy + cutoff + 1, cx - cutoff:cx + cutoff + 1]


def offset_distances(h: int, w: int) -> torch.Tensor:
    """|r| (pixels, float64) of every offset of an ``h`` x ``w`` statistics map, r = 0 at (h // 2, w // 2)."""
    ry = torch.arange(h, dtype=torch.float64) - h // 2
    rx = torch.arange(w, dtype=torch.float64) - w // 2
    return torch.sqrt(ry[:, None] ** 2 + rx[None, :] ** 2)


def radial_profile(f: torch.Tensor, max_distance: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(distances k, profile (..., K))``: the mean of ``f`` over the offsets with round(|r|) = k.

    k runs from 0 to ``max_distance`` (default: the largest distance whose circle fits the map
    whole, ``min(H, W) // 2 - 1`` for even sides), so that every k averages a full ring.
    """
    check_spatial(f, 2, "f")
    h, w = f.shape[-2:]
    fits = min((h - 1) // 2, (w - 1) // 2)
    k_max = fits if max_distance is None else max_distance
    if not 0 <= k_max <= fits:
        raise ValueError(f"max_distance must lie in 0..{fits} for statistics of {h} x {w}, got {max_distance}")
    ring = torch.round(offset_distances(h, w)).long().flatten()
    keep = ring <= k_max
    flat = f.reshape(*f.shape[:-2], h * w)[..., keep]
    index = ring[keep]
    sums = torch.zeros(*f.shape[:-2], k_max + 1, dtype=f.dtype, device=f.device)
    sums.index_add_(-1, index.to(f.device), flat)
    counts = torch.bincount(index, minlength=k_max + 1).to(f.dtype).to(f.device)
    return torch.arange(k_max + 1), sums / counts


def directional_profiles(f: torch.Tensor) -> dict[str, torch.Tensor]:
    """f along "x", "y", "diagonal" and "antidiagonal" (module docstring), each ``(..., K)``,
    k = 0 .. the largest offset whose both signs exist; each value the mean of f(k d) and f(-k d)."""
    check_spatial(f, 2, "f")
    h, w = f.shape[-2:]
    cy, cx = h // 2, w // 2
    ky, kx = (h - 1) // 2, (w - 1) // 2          # the largest |r_y|, |r_x| present with both signs
    directions = {"x": (0, 1, kx), "y": (1, 0, ky), "diagonal": (1, 1, min(ky, kx)),
                  "antidiagonal": (1, -1, min(ky, kx))}
    out = {}
    for name, (dy, dx, k_max) in directions.items():
        k = torch.arange(k_max + 1, device=f.device)
        forward = f[..., cy + dy * k, cx + dx * k]
        backward = f[..., cy - dy * k, cx - dx * k]
        out[name] = (forward + backward) / 2
    return out


def phase_correlations(labels: np.ndarray, phases: Sequence[int], *, periodic: bool = False) -> dict[tuple[int, int], torch.Tensor]:
    """Two-point statistics of the hard indicators of segmented images ``labels`` ``(..., H, W)``.

    Returns ``{(a, b): f_ab}`` for every pair a <= b of ``phases``: f_aa the autocorrelation of
    phase a, f_ab (a < b) the cross-correlation (1/S) Σ_x 1[x in a] 1[x + r in b] (f_ba(r) =
    f_ab(-r), so it is not returned); float64, r = 0 at (H // 2, W // 2).  ``periodic=False`` (the
    default here, unlike the lines): a micrograph does not wrap around, so each offset is
    averaged over the pairs that lie inside the image.  Raises ValueError for a phase that is absent.
    """
    a = np.asarray(labels)
    missing = [p for p in phases if not (a == p).any()]
    if missing:
        raise ValueError(f"phases {missing} do not occur in the images (labels present: {np.unique(a).tolist()})")
    m = {p: torch.as_tensor((a == p).astype(np.float64)) for p in phases}
    return {(p, q): autocorrelation(m[p], periodic=periodic) if p == q else
            cross_correlation(m[p], m[q], periodic=periodic)
            for i, p in enumerate(phases) for q in phases[i:]}


def correlation_length(profile: torch.Tensor | np.ndarray, level: float = CORRELATION_LEVEL) -> torch.Tensor:
    """(...,): where each profile ``(..., K)``, K >= 2, of a normalised autocovariance (1 at k = 0, e.g. a radial or
    directional profile) first falls to ``level`` (1/e by default), in px: the first k with profile <= level,
    linearly interpolated between k - 1 and k; 0 where the profile starts at or below it, ``inf`` where it stays
    above it over all K values.  Differentiable in ``profile`` (a batch of them at once); a tensor of its dtype.

    >>> float(correlation_length(np.array([1.0, 0.5, 0.25]), level=0.375))   # between k = 1 (0.5) and k = 2 (0.25)
    1.5
    >>> correlation_length(torch.tensor([[1.0, 0.0], [1.0, 0.75]]), level=0.5).tolist()   # the second never falls
    [0.5, inf]
    """
    p = torch.as_tensor(profile)
    below = p <= level
    k = below.to(torch.uint8).argmax(dim=-1, keepdim=True).clamp_min(1)          # the first k at or below
    hi, lo = p.gather(-1, k - 1)[..., 0], p.gather(-1, k)[..., 0]
    gap = hi - lo                          # > 0 at a crossing; elsewhere the step is 0 or replaced by inf below
    step = ((hi - level) / torch.where(gap > 0, gap, torch.ones_like(gap))).clamp(0, 1)
    length = (k[..., 0] - 1).to(p.dtype) + step
    return torch.where(below.any(dim=-1), length, torch.full_like(length, math.inf))
