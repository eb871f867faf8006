"""Exact k-nearest-neighbour search by MSE, in data space or in spatial-statistics space.

The paper compared each reconstruction with every training image in a per-pair Python loop,
recomputing the training image's statistics each time (7.6 ms a pair: 100 x 70,000 pairs
~ 15 h).  Here the database streams through once in batches, each batch is turned into
feature vectors once, and all query-database distances of a batch come from one matrix
product:

    MSE(q, d) = ||q - d||^2 / S = (||q||^2 + ||d||^2 - 2 q.d) / S,  S = H * W pixels.

Feature vectors
---------------
* ``space="data"``: the image itself, flattened.
* ``space="spatial_stats"``: the statistics f = :func:`utils.statistics.two_point.spatial_statistics` (periodic
  autocorrelation of the soft indicator of ``phase``) are never formed.  With M = FFT(m) of the
  indicator m, f = IFFT(|M|^2) / S, and by Parseval
      sum_r (f_a(r) - f_b(r))^2 = sum_k (|M_a(k)|^2 - |M_b(k)|^2)^2 / S^3,
  so MSE_f(a, b) = ||v_a - v_b||^2 / S with v = sqrt(w / S) P over the half spectrum of ``rfft2``,
  P = |M|^2 / S (:func:`utils.statistics.spectral.autocorrelation_spectrum`) and w = 2 for the columns that stand
  for two conjugate frequencies, else 1 (:func:`utils.statistics.spectral.spectral_weights`; the same identity
  as the training loss's fast path).  This skips the inverse FFT and halves the vector length.
* ``precomputed=True`` (only with ``space="spatial_stats"``): the database already holds the
  statistics f of each image (e.g. :func:`utils.statistics.two_point.spatial_statistics` of each image);
  the queries' f is computed (float64) and vectors are compared as they are, so with a float32
  cache the MSEs carry the cache's own rounding (~1e-7 relative).

Exactness
---------
``||q||^2 + ||d||^2 - 2 q.d`` cancels badly: in float32 it reorders close neighbours.  Every
feature is computed in **float64** (FFT included) and the matrix product is float64; its error
is at most E = 4 (L + 4) u (||q||^2 + max ||d||^2) / S (L = vector length, u = 2^-53, the
standard bound for a sum of L products).  Every database item whose approximate MSE lies
within 2E of the batch's k-th smallest (and within E of the best k found so far) is then
recomputed exactly as sum((v_q - v_d)^2) / S, and the k smallest exact values win, ties to
the lower index.  So the neighbours are those of a brute-force float64 argsort.  ``mean`` and
``std`` come from the float64 products: absolute error <= E, i.e. ~1e-12 of (||q||^2 + ||d||^2) / S.

>>> database = np.stack([np.zeros((2, 2)), np.full((2, 2), 0.5), np.ones((2, 2))])
>>> found = nearest_neighbors(np.full((1, 2, 2), 0.9), database, k=2)
>>> found.indices.tolist(), np.round(found.mse, 12).tolist()    # (0.9 - 1)^2 and (0.9 - 0.5)^2
([[2, 1]], [[0.01, 0.16]])
>>> lines = np.ones((3, 8, 8)); lines[0, :, 1] = 0; lines[1, :, 5] = 0; lines[2, 1, :] = 0
>>> nearest_neighbors(lines[:1], lines[1:], k=1, space="spatial_stats").indices.tolist()
[[0]]
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np
import torch

from utils.checks import ArrayLike, image_batch, positive_int
from utils.progress import progress_bar
from utils.statistics.spectral import autocorrelation_spectrum, spectral_weights
from utils.statistics.two_point import phase_indicator, spatial_statistics

__all__ = ["NeighborResult", "nearest_neighbors", "SPACES"]

SPACES = ("data", "spatial_stats")
_UNIT_ROUNDOFF = 2.0 ** -53


@dataclass(frozen=True)
class NeighborResult:
    """What :func:`nearest_neighbors` returns, for Q queries against N database items."""

    mse: np.ndarray      # (Q, k) float64: MSE of each query to its k nearest items, ascending
    indices: np.ndarray  # (Q, k) int64: global database indices of those items (0 .. N-1)
    mean: np.ndarray     # (Q,) float64: mean MSE of each query over the whole database
    std: np.ndarray      # (Q,) float64: population standard deviation (ddof=0) of those MSEs
    n_database: int      # N, the number of database items seen


# ----------------------------------------------------------------------------- input handling

def _as_batch_tensor(x: ArrayLike, name: str) -> torch.Tensor:
    """(b, H, W) CPU tensor (dtype kept) from a (b, H, W) or (b, 1, H, W) array or tensor."""
    if not isinstance(x, (np.ndarray, torch.Tensor)):
        raise TypeError(f"{name} must be a numpy array, a torch tensor or an iterable of them, "
                        f"got {type(x).__name__}")
    a = image_batch(x, name)
    t = torch.from_numpy(a if a.flags.writeable else a.copy())    # torch wants writable memory
    if not t.is_floating_point() and t.numel() and (t.min() < 0 or t.max() > 1):
        raise ValueError(f"{name} holds integers outside {{0, 1}} (max {int(t.max())}); the "
                         "project's images are 0 = line, 1 = background: divide 0/255 images by 255")
    return t


def _batches(database: ArrayLike | Iterable[ArrayLike], batch_size: int) -> Iterator[ArrayLike]:
    if isinstance(database, (np.ndarray, torch.Tensor)):
        for start in range(0, len(database), batch_size):
            yield database[start:start + batch_size]
    else:
        yield from database


def _n_batches(database: object, batch_size: int) -> int | None:
    if isinstance(database, (np.ndarray, torch.Tensor)):
        return math.ceil(len(database) / batch_size)
    return len(database) if hasattr(database, "__len__") else None


# ----------------------------------------------------------------------------- features

def _indicator(x: torch.Tensor, phase: float, eps: float) -> torch.Tensor:
    """float64 soft indicator; binary integer images use its two values instead of exp per pixel."""
    if x.is_floating_point():
        return phase_indicator(x.to(torch.float64), phase, eps)
    line, background = phase_indicator(torch.tensor([0.0, 1.0], dtype=torch.float64), phase, eps)
    return torch.where(x.bool(), background, line)


def _fourier_stats_features(x: torch.Tensor, phase: float, eps: float) -> torch.Tensor:
    """(b, H * (W//2 + 1)) float64 vectors v = sqrt(w / S) P with MSE_f(a, b) = ||v_a - v_b||^2 / S."""
    shape = tuple(x.shape[-2:])
    root_weight = spectral_weights(shape).div_(math.prod(shape)).sqrt_()
    return autocorrelation_spectrum(_indicator(x, phase, eps)).mul_(root_weight).reshape(len(x), -1)


def _features(x: torch.Tensor, space: str, precomputed: bool, is_query: bool,
              phase: float, eps: float) -> torch.Tensor:
    """(b, L) float64 feature vectors of a (b, H, W) chunk; MSE = squared distance / (H W)."""
    if space == "data" or (precomputed and not is_query):
        return x.to(torch.float64).reshape(len(x), -1)
    if precomputed:  # a query, compared with a database of real-space statistics
        return spatial_statistics(x.to(torch.float64), phase=phase, eps=eps).reshape(len(x), -1)
    return _fourier_stats_features(x, phase, eps)


def _feature_matrix(x: torch.Tensor, space: str, precomputed: bool, is_query: bool,
                    phase: float, eps: float, chunk: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """Features (b, L) and their squared norms (b,), built ``chunk`` images at a time.

    Small chunks keep the FFT's temporaries in the CPU cache: ~2x faster than one big batch.
    """
    if space == "data" or (precomputed and not is_query):
        chunk = max(len(x), 1)  # no FFT: nothing to keep in cache
    parts = [_features(x[s:s + chunk], space, precomputed, is_query, phase, eps)
             for s in range(0, len(x), chunk)]
    features = torch.cat(parts) if len(parts) > 1 else parts[0]
    return features, torch.linalg.vecdot(features, features)


# ----------------------------------------------------------------------------- running state

class _RunningTopK:
    """The k smallest exact MSEs seen so far per query, ties broken by the lower index."""

    def __init__(self, n_queries: int, k: int) -> None:
        self.mse = np.full((n_queries, k), np.inf)
        self.indices = np.full((n_queries, k), -1, dtype=np.int64)

    def worst(self) -> np.ndarray:
        """(Q,) the k-th smallest MSE so far (inf until k items were seen)."""
        return self.mse[:, -1]

    def merge(self, q: int, mse: np.ndarray, indices: np.ndarray) -> None:
        all_mse = np.concatenate([self.mse[q], mse])
        all_idx = np.concatenate([self.indices[q], indices])
        order = np.lexsort((np.where(all_idx < 0, np.iinfo(np.int64).max, all_idx), all_mse))
        keep = order[:self.mse.shape[1]]
        self.mse[q], self.indices[q] = all_mse[keep], all_idx[keep]


class _RunningMoments:
    """Count, mean and sum of squared deviations per query, merged batch by batch (Chan et al.)."""

    def __init__(self, n_queries: int) -> None:
        self.n = 0
        self.mean = torch.zeros(n_queries, dtype=torch.float64)
        self.m2 = torch.zeros(n_queries, dtype=torch.float64)

    def update(self, values: torch.Tensor) -> None:
        nb = values.shape[1]
        mean_b = values.mean(dim=1)
        m2_b = ((values - mean_b[:, None]) ** 2).sum(dim=1)
        n = self.n + nb
        delta = mean_b - self.mean
        self.mean = self.mean + delta * (nb / n)
        self.m2 = self.m2 + m2_b + delta ** 2 * (self.n * nb / n)
        self.n = n

    def std(self) -> np.ndarray:
        return (self.m2 / max(self.n, 1)).clamp_min(0).sqrt().numpy()


# ----------------------------------------------------------------------------- the search

def _check_args(k: int, space: str, precomputed: bool, batch_size: int) -> None:
    if space not in SPACES:
        raise ValueError(f"space must be one of {SPACES}, got {space!r}")
    if precomputed and space != "spatial_stats":
        raise ValueError("precomputed=True means the database holds spatial statistics; "
                         "use it with space='spatial_stats'")
    positive_int(k, "k")
    positive_int(batch_size, "batch_size")


def nearest_neighbors(queries: ArrayLike, database: ArrayLike | Iterable[ArrayLike], *, k: int = 5,
                      space: str = "data", precomputed: bool = False, batch_size: int = 256,
                      phase: float = 0.0, eps: float = 0.25, progress: bool = False) -> NeighborResult:
    """The ``k`` database items nearest to each query by MSE, plus each query's mean/std MSE.

    ``queries``: images (Q, H, W) or (Q, 1, H, W), array or tensor (e.g. reconstructions).
    ``database``: (N, H, W) array/tensor (a memory map is read ``batch_size`` items at a time) or
    an iterable of such batches (indices are global: the running position across batches), so
    70,000 images never need to be in memory at once.  Integer images must hold 0/1.
    ``space``: ``"data"`` (MSE of pixels) or ``"spatial_stats"`` (MSE of
    ``spatial_statistics(., phase=phase, eps=eps)``); with ``precomputed=True`` the database
    holds those statistics already.  MSE = mean over the H*W pixels / offsets.

    Returns :class:`NeighborResult` (mse and indices (Q, k) ascending; mean and std (Q,)).
    Exact: equal to a float64 brute-force argsort (see the module docstring).  Raises
    ValueError on bad arguments, mismatched image sizes, or a database with fewer than k items.
    """
    _check_args(k, space, precomputed, batch_size)
    with torch.no_grad():
        q_images = _as_batch_tensor(queries, "queries")
        if len(q_images) == 0:
            raise ValueError("queries is empty; pass at least one image")
        q, q_sq = _feature_matrix(q_images, space, precomputed, True, phase, eps)
        n_pixels = q_images.shape[-2] * q_images.shape[-1]
        rel_error = 4.0 * (q.shape[1] + 4) * _UNIT_ROUNDOFF / n_pixels

        top, moments, offset = _RunningTopK(len(q), k), _RunningMoments(len(q)), 0
        batches = progress_bar(_batches(database, batch_size), total=_n_batches(database, batch_size),
                       desc=f"nearest neighbours ({space})", unit="batch", disable=not progress)
        for batch in batches:
            images = _as_batch_tensor(batch, "each database batch")
            if images.shape[-2:] != q_images.shape[-2:]:
                raise ValueError(f"database images are {tuple(images.shape[-2:])} but queries are "
                                 f"{tuple(q_images.shape[-2:])}; compare images of one size")
            if len(images) == 0:
                continue
            d, d_sq = _feature_matrix(images, space, precomputed, False, phase, eps)
            approx = ((q_sq[:, None] + d_sq[None, :] - 2.0 * (q @ d.T)) / n_pixels).clamp_min(0.0)
            moments.update(approx)
            error = rel_error * (q_sq + d_sq.max())                              # (Q,)
            kth = approx.kthvalue(min(k, len(d)), dim=1).values
            limit = torch.minimum(kth + 2 * error, torch.from_numpy(top.worst()) + error)
            candidates = approx <= limit[:, None]
            for qi in torch.nonzero(candidates.any(dim=1)).flatten().tolist():
                rows = torch.nonzero(candidates[qi]).flatten()
                exact = ((d[rows] - q[qi]) ** 2).sum(dim=1) / n_pixels
                top.merge(qi, exact.numpy(), rows.numpy() + offset)
            offset += len(d)

    if offset < k:
        raise ValueError(f"the database holds {offset} items, fewer than k={k}; lower k or pass more images")
    return NeighborResult(mse=top.mse, indices=top.indices, mean=moments.mean.numpy(),
                          std=moments.std(), n_database=offset)
