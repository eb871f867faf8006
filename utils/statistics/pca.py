"""The principal components of two-point statistics: the classical k-number representation of a texture.

What PyMKS users do with the statistics of many images: flatten each image's statistics to a row (of the raw f, or
of the normalised autocovariance), fit a PCA on the training rows, and keep the first k coefficients as the code.
:func:`statistics_features` and :func:`fit_statistics_pca` serve the periodic statistics of the lines (notebook 05);
:class:`StatisticsPCA` the windows of crops (:mod:`utils.statistics.crops`, notebooks 07-08), fitted on f and on the
autocovariance apart.

Statistics as vectors (:func:`statistics_features`), one row per image, H*W columns:

* ``"raw"``: f itself (:func:`utils.statistics.two_point.spatial_statistics`, r = 0 at the centre).  Its variance is
  dominated by the volume fraction: f scales with it almost everywhere.
* ``"autocovariance"``: (f - phi²) / (phi (1 - phi)) with phi = f(0), the normalised autocovariance
  (:func:`utils.statistics.two_point.normalised_autocovariance`): 1 at r = 0, ~0 where two points are uncorrelated,
  whatever the volume fraction; what is left is the shape of the structure.

PCA (:func:`fit_statistics_pca`, scikit-learn; Paulson et al., Acta Materialia 129, 2017) is fitted on the training
images' statistics; :func:`pca_reconstruct` projects statistics on the first k components and back.

>>> rng = np.random.default_rng(0)
>>> basis = rng.normal(size=(2, 16))                       # statistics that live in a 2-D subspace
>>> features = rng.normal(size=(50, 2)) @ basis + 3.0
>>> pca = fit_statistics_pca(features, n_components=3)
>>> errors = [float(np.abs(pca_reconstruct(pca, features, k) - features).max()) for k in (1, 2)]
>>> errors[0] > 0.1, errors[1] < 1e-9                       # k = 2 components are exact, k = 1 is not
(True, True)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from sklearn.decomposition import PCA

from utils.checks import ArrayLike, image_batch
from utils.statistics.crops import CropStatistics
from utils.statistics.two_point import normalised_autocovariance, spatial_statistics

__all__ = ['SPACES', 'statistics_features', 'fit_statistics_pca', 'pca_reconstruct', 'pca_errors', 'StatisticsPCA']


SPACES = ("raw", "autocovariance")


def statistics_features(images: ArrayLike, *, space: str = "raw", phase: float = 0.0, eps: float = 0.25,
                        batch_size: int = 1024) -> np.ndarray:
    """(n, H * W) float64: each image's statistics in ``space`` ("raw" or "autocovariance"), flattened."""
    if space not in SPACES:
        raise ValueError(f"space must be one of {SPACES}, got {space!r}")
    x = image_batch(images, "images")
    out = np.empty((len(x), x.shape[1] * x.shape[2]))
    with torch.no_grad():
        for s in range(0, len(x), batch_size):
            f = spatial_statistics(torch.as_tensor(np.asarray(x[s:s + batch_size], dtype=np.float64)),
                                   phase=phase, eps=eps)
            if space == "autocovariance":
                f = normalised_autocovariance(f)
            out[s:s + batch_size] = f.reshape(len(f), -1).numpy()
    return out


def fit_statistics_pca(features: np.ndarray, n_components: int, *, seed: int = 0):
    """A scikit-learn PCA with ``n_components`` components fitted on ``features`` (n, D)."""

    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(f"features must be (n >= 2, D), got shape {features.shape}")
    if not 1 <= n_components <= min(features.shape):
        raise ValueError(f"n_components must be in [1, {min(features.shape)}], got {n_components}")
    return PCA(n_components=n_components, svd_solver="full", random_state=seed).fit(features)


def pca_reconstruct(pca, features: np.ndarray, k: int) -> np.ndarray:
    """``features`` (n, D) projected on the first ``k`` components of ``pca`` and back: mean + coordinates @ V_k."""
    if not 0 <= k <= pca.n_components_:
        raise ValueError(f"k must be in [0, {pca.n_components_}], got {k}")
    centred = np.asarray(features, dtype=np.float64) - pca.mean_
    basis = pca.components_[:k]
    return pca.mean_ + (centred @ basis.T) @ basis


def pca_errors(pca, features: np.ndarray, ks: Sequence[int]) -> np.ndarray:
    """For each k of ``ks``: the mean over images of the mean squared error over offsets of the
    k-component reconstruction of ``features`` (n, D); float64 (len(ks),)."""
    return np.array([((pca_reconstruct(pca, features, k) - features) ** 2).mean() for k in ks])


@dataclass
class StatisticsPCA:
    """The classical k-number representation: principal components of the training crops' statistics
    (:func:`fit_statistics_pca`), of the raw f (whose centre f(0) gives the volume fraction)
    and of the normalised autocovariance (the shape); the k coefficients of f are the code.  Fitted
    separately because a ratio of a projection is not a projection: the autocovariance recomputed
    from a projected f divides its errors by phi (1 - phi), tiny for the PMMA's 3 % phase."""

    raw: object
    autocovariance: object
    k: int

    @classmethod
    def fit(cls, train: CropStatistics, k: int, *, seed: int = 0) -> "StatisticsPCA":
        return cls(fit_statistics_pca(train.raw, k, seed=seed), fit_statistics_pca(train.autocovariance, k, seed=seed), k)

    def project(self, stats: CropStatistics) -> CropStatistics:
        """``stats`` projected on the first k components (fraction = the projected f's centre)."""
        raw = pca_reconstruct(self.raw, stats.raw, self.k)
        side = int(round(np.sqrt(raw.shape[1])))
        return CropStatistics(raw[:, (side * side) // 2].copy(), raw, pca_reconstruct(self.autocovariance,
                                                                                        stats.autocovariance, self.k))

    def codes(self, stats: CropStatistics) -> np.ndarray:
        """(n, k): the coefficients of the raw f on its components (they carry the volume fraction too,
        which the autocovariance's do not: white noise of any volume fraction has the same one)."""
        return self.raw.transform(stats.raw)[:, :self.k]
