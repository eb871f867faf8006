"""The latent space, and the classical alternative to it: principal components of the statistics.

The VAE squeezes an image into ``latent_dim`` numbers; the classical low-dimensional representation
of a microstructure is the first principal components of its spatial statistics (Paulson et al.,
Acta Materialia 129, 2017).  This module compares the two on the same test images (notebook 05).

Statistics as vectors (:func:`statistics_features`), one row per image, H*W columns:

* ``"raw"``: f itself (``utils.stats.spatial_statistics``, r = 0 at the centre).  Its variance is
  dominated by the volume fraction: f scales with it almost everywhere.
* ``"autocovariance"``: (f - phi²) / (phi (1 - phi)) with phi = f(0), the normalised
  autocovariance (:func:`utils.stats.normalised_autocovariance`): 1 at r = 0, ~0 where two points
  are uncorrelated, whatever the volume fraction; what is left is the shape of the structure.

PCA (:func:`fit_statistics_pca`, scikit-learn) is fitted on the training images' statistics;
:func:`pca_reconstruct` projects statistics on the first k components and back.  The VAE's code of
an image is the mean mu of its posterior (:func:`encode_means`); :func:`decode` draws codes.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> basis = rng.normal(size=(2, 16))                       # statistics that live in a 2-D subspace
>>> features = rng.normal(size=(50, 2)) @ basis + 3.0
>>> pca = fit_statistics_pca(features, n_components=3)
>>> errors = [float(np.abs(pca_reconstruct(pca, features, k) - features).max()) for k in (1, 2)]
>>> errors[0] > 0.1, errors[1] < 1e-9                       # k = 2 components are exact, k = 1 is not
(True, True)
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import torch
from sklearn.decomposition import PCA

from utils.checks import ArrayLike, image_batch
from utils.evaluate import per_image_table
from utils.inversion import Spectra
from utils.report import summarise
from utils.stats import normalised_autocovariance, spatial_statistics

__all__ = ["SPACES", "statistics_features", "fit_statistics_pca", "pca_reconstruct", "pca_errors",
           "features_to_spectra", "encode_means", "decode", "latent_correlations", "robustness", "path_codes", "interpolate"]

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


def features_to_spectra(features: np.ndarray, shape: tuple[int, int]) -> Spectra:
    """Raw statistics vectors (n, H * W) of images of ``shape`` (H, W), r = 0 at the centre, as their
    periodic power spectra (n, H, W//2 + 1): a target of :func:`utils.inversion.reconstruct_from_statistics`.
    (A PCA reconstruction need not be a valid autocorrelation; its spectrum is then simply the nearest
    target we have.)"""
    h, w = shape
    f = torch.as_tensor(np.asarray(features, dtype=np.float64).reshape(-1, h, w))
    uncentred = torch.roll(f, (-(h // 2), -(w // 2)), dims=(-2, -1))
    return Spectra(torch.fft.rfft2(uncentred).real.float(), width=w)


def encode_means(model: torch.nn.Module, images: ArrayLike, *, batch_size: int = 256) -> np.ndarray:
    """(n, latent_dim) float32: the posterior means mu of ``images`` (n, H, W) in [0, 1]."""
    x = image_batch(images, "images")
    model.eval()
    device = next(model.parameters()).device
    out = []
    with torch.no_grad():
        for s in range(0, len(x), batch_size):
            batch = torch.as_tensor(np.asarray(x[s:s + batch_size], dtype=np.float32))[:, None].to(device)
            out.append(model.encode(batch)[0].float().cpu())
    return torch.cat(out).numpy()


def decode(model: torch.nn.Module, z: ArrayLike, *, batch_size: int = 256) -> np.ndarray:
    """(n, H, W) float32: the decoded images of codes ``z`` (n, latent_dim)."""
    z = torch.as_tensor(np.asarray(z, dtype=np.float32))
    if z.dim() != 2:
        raise ValueError(f"z must have shape (n, latent_dim), got {tuple(z.shape)}")
    model.eval()
    device = next(model.parameters()).device
    with torch.no_grad():
        return torch.cat([model.decode(z[s:s + batch_size].to(device))[:, 0].float().cpu()
                          for s in range(0, len(z), batch_size)]).numpy()


def latent_correlations(mu: np.ndarray, properties: dict[str, np.ndarray]) -> np.ndarray:
    """(latent_dim, n_properties) Pearson correlation of each latent coordinate with each property
    (e.g. line count, orientation as 0/1, volume fraction); NaN where one of them is constant."""
    mu = np.asarray(mu, dtype=np.float64)
    out = np.full((mu.shape[1], len(properties)), np.nan)
    for j, values in enumerate(properties.values()):
        v = np.asarray(values, dtype=np.float64)
        for i in range(mu.shape[1]):
            if mu[:, i].std() > 0 and v.std() > 0:
                out[i, j] = np.corrcoef(mu[:, i], v)[0, 1]
    return out


def robustness(model: torch.nn.Module, originals: np.ndarray, labels, sigmas: Sequence[float], *,
               seed: int = 0) -> pd.DataFrame:
    """Decode mu + sigma * N(0, I) of each original for each sigma (seeded, the same noise draw
    scaled); one row per sigma with the scores of :func:`utils.report.summarise` (percentages)."""
    mu = encode_means(model, originals)
    noise = np.random.default_rng(seed).standard_normal(mu.shape).astype(np.float32)
    rows = [{"sigma": float(s), **summarise(per_image_table(originals, labels, decode(model, mu + s * noise)),
                                            percent=True)} for s in sigmas]
    return pd.DataFrame(rows)


def path_codes(z_from: np.ndarray, z_to: np.ndarray, steps: int) -> np.ndarray:
    """(steps, latent_dim) float32: the codes evenly spaced on the straight line from ``z_from`` to ``z_to``.

    >>> path_codes(np.zeros(2), np.ones(2), 3).tolist()
    [[0.0, 0.0], [0.5, 0.5], [1.0, 1.0]]
    """
    t = np.linspace(0.0, 1.0, steps, dtype=np.float32)[:, None]
    return (1 - t) * np.asarray(z_from, np.float32)[None] + t * np.asarray(z_to, np.float32)[None]


def interpolate(model: torch.nn.Module, z_from: np.ndarray, z_to: np.ndarray, steps: int = 7) -> np.ndarray:
    """(steps, H, W): the images decoded along the straight line from ``z_from`` to ``z_to``."""
    return decode(model, path_codes(z_from, z_to, steps))
