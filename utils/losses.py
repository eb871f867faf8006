"""VAE losses: the paper's spatial-statistics reconstruction loss, the data-space baseline and KL.

The paper's objective for one image x with reconstruction x' and posterior N(mu, sigma^2):

    L = alpha * || f(x) - f(x') ||^2  +  beta * KL( N(mu, sigma^2) || N(0, I) )

with f = :func:`utils.stats.spatial_statistics` (two-point autocorrelation of the soft black-line
indicator) and KL = -1/2 * sum_j (1 + log sigma_j^2 - mu_j^2 - sigma_j^2).  The "vanilla"
baseline replaces the first term by the summed pixel MSE || x - x' ||^2.

Reductions (same meaning in every function here)
------------------------------------------------
* ``"sum"`` (the paper's): sum over the pixels (or latent dimensions) of each image, then the
  **mean over the batch** -- a per-image value that does not depend on the batch size.
* ``"mean"``: mean over the pixels (latent dimensions) and over the batch.

Averaging over the batch instead of summing only rescales the whole loss by the batch size,
which Adam ignores; the balance between the reconstruction and the KL term, which is what
alpha and beta set, is the same.  The target statistics ``f(x)`` do not depend on the model,
so training computes them once per image and passes them in -- as their power spectra
(``utils.data.compute_spectra_cache``, :func:`utils.spectral.power_spectrum`), the fast path.

Fast path (what training uses)
------------------------------
By Parseval, || f(x') - f(x) ||^2 = (1/S) sum_k w(k) (P'(k) - P(k))^2 over the rfft2 half spectrum,
with P = |rfft2(m)|^2 / S the power spectrum of the soft indicator m and w = 1 or 2 the number of
frequencies a column of the half spectrum stands for (see :mod:`utils.stats`).  So given the
target's P, the loss needs one rfft2 of the reconstruction forward and one irfft2 backward
(:func:`utils.spectral.spatial_statistics_sq_distance`), against two of each when f(x') is formed in
real space.  Pass ``target_spectrum=`` instead of ``target_stats``: same value up to float32
rounding (~1e-6 relative).

>>> kl_divergence(torch.zeros(2, 9), torch.zeros(2, 9)).item()        # the posterior is the prior
0.0
>>> kl_divergence(torch.ones(1, 9), torch.zeros(1, 9)).item()         # 1/2 sum mu^2 = 4.5 nats
4.5
>>> data_loss(torch.ones(1, 1, 2, 2), torch.zeros(1, 1, 2, 2)).item()  # summed over the 4 pixels
4.0
>>> x = (torch.rand(2, 1, 8, 8, generator=torch.Generator().manual_seed(0)) > 0.7).float()
>>> moved = torch.roll(x, shifts=3, dims=-1)                           # the same texture, elsewhere
>>> spatial_stats_loss(moved, target_spectrum=power_spectrum(x)).item() < 1e-9   # the statistics do not see it
True
>>> data_loss(moved, x).item() > 1                                     # the pixels do
True
"""
from __future__ import annotations

import torch

from utils.objective import Objective
from utils.project import LOSSES
from utils.spectral import power_spectrum, spatial_statistics_sq_distance
from utils.stats import spatial_statistics

__all__ = ["REDUCTIONS", "spatial_stats_loss", "data_loss", "kl_divergence", "vae_loss"]

REDUCTIONS = ("sum", "mean")


def _reduce(per_element: torch.Tensor, reduction: str) -> torch.Tensor:
    """(B, ...) -> scalar: per-image sum (or mean) over the non-batch dims, then mean over B."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    flat = per_element.reshape(per_element.shape[0], -1)
    per_image = flat.sum(dim=1) if reduction == "sum" else flat.mean(dim=1)
    return per_image.mean()


def spatial_stats_loss(recon: torch.Tensor, target_stats: torch.Tensor | None = None, *, reduction: str = "sum",
                       scale: float = 1.0, phase: float = 0.0, eps: float = 0.25,
                       target_spectrum: torch.Tensor | None = None, periodic: bool = True) -> torch.Tensor:
    """|| f(recon) / scale - f(x) / scale ||^2 per image, reduced over the batch.

    ``recon``: (B, 1, H, W) or (B, H, W) reconstructions in [0, 1].  The target f(x) is given by
    exactly one of

    * ``target_stats``: the precomputed ``spatial_statistics(x, phase=phase, eps=eps,
      periodic=periodic)`` of the inputs, same number of elements per image ((B, 1, H, W) or
      (B, H, W)); ``periodic=False`` compares the non-periodic statistics (zero-padded, each
      offset divided by its number of pairs: micrograph crops), which only this path computes;
    * ``target_spectrum`` (fast path, see the module docstring): their power spectra
      ``power_spectrum(x, phase=phase, eps=eps)``, (B, 1, H, W//2 + 1) or (B, H, W//2 + 1).

    ``scale``: divide both statistics by it (equivalently both spectra), e.g. the dataset's
    largest statistic so that values lie in [0, 1] (1 = the paper's runs).  Returns a scalar tensor
    (see the module docstring for ``reduction``).  Training composes its terms with
    :class:`utils.objective.Objective`; this is the single term, for any reduction.
    """
    if scale <= 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    if (target_stats is None) == (target_spectrum is None):
        raise ValueError("pass exactly one of target_stats (real-space statistics) and target_spectrum "
                         "(their power spectra, the fast path)")
    if target_spectrum is not None:
        if not periodic:
            raise ValueError("target_spectrum holds periodic statistics; pass target_stats with periodic=False")
        return _spectral_loss(recon, target_spectrum, reduction, scale, phase, eps)
    if recon.shape[0] != target_stats.shape[0] or recon[0].numel() != target_stats[0].numel():
        raise ValueError(f"recon {tuple(recon.shape)} and target_stats {tuple(target_stats.shape)} "
                         "must hold the same number of images of the same size")
    stats = spatial_statistics(recon, phase=phase, eps=eps, periodic=periodic)
    diff = stats - target_stats.reshape(stats.shape)
    if scale != 1.0:
        diff = diff / scale
    return _reduce(diff.square(), reduction)


def _spectral_loss(recon: torch.Tensor, target_spectrum: torch.Tensor, reduction: str, scale: float,
                   phase: float, eps: float) -> torch.Tensor:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    h, w = recon.shape[-2:]
    half = (h, w // 2 + 1)
    if recon.shape[0] != target_spectrum.shape[0] or tuple(target_spectrum.shape[-2:]) != half or \
            recon[0].numel() // (h * w) != target_spectrum[0].numel() // (half[0] * half[1]):
        raise ValueError(f"recon {tuple(recon.shape)} and target_spectrum {tuple(target_spectrum.shape)} must hold "
                         f"the same number of images; the half spectrum of a {h}x{w} image is {half[0]}x{half[1]} "
                         "(power_spectrum(x))")
    per_image = spatial_statistics_sq_distance(recon, target_spectrum.reshape(*recon.shape[:-1], half[1]),
                                               phase=phase, eps=eps)
    per_image = per_image.reshape(per_image.shape[0], -1).sum(dim=1)   # sum over r (and channels): (B,)
    if reduction == "mean":
        per_image = per_image / recon[0].numel()
    if scale != 1.0:
        per_image = per_image / (scale * scale)
    return per_image.mean()


def data_loss(recon: torch.Tensor, x: torch.Tensor, *, reduction: str = "sum") -> torch.Tensor:
    """Pixel MSE || recon - x ||^2 per image (``"sum"``: summed over pixels, as the paper's baseline)."""
    if recon.shape != x.shape:
        raise ValueError(f"recon {tuple(recon.shape)} and x {tuple(x.shape)} must have the same shape")
    return _reduce((recon - x).square(), reduction)


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor, *, reduction: str = "sum") -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) = -1/2 sum_j (1 + logvar_j - mu_j^2 - exp(logvar_j)).

    ``mu``, ``logvar``: (B, latent_dim).  ``"sum"`` sums over the latent dimensions (the exact KL
    of each image), then averages over the batch.
    """
    if mu.shape != logvar.shape:
        raise ValueError(f"mu {tuple(mu.shape)} and logvar {tuple(logvar.shape)} must have the same shape")
    return _reduce(-0.5 * (1.0 + logvar - mu.square() - logvar.exp()), reduction)


def vae_loss(recon: torch.Tensor, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor, *,
             loss: str = "spatial_stats", objective: Objective = Objective(), targets: tuple[torch.Tensor, ...] | None = None,
             alpha: float = 1.0, beta: float = 1.0) -> dict[str, torch.Tensor]:
    """The whole objective: ``{"total": alpha * recon + beta * kl, "recon": ..., "kl": ...}``, each the
    batch mean of a per-image value (the ``"sum"`` reduction, the paper's).

    ``loss="spatial_stats"``: ``recon`` is the reconstruction term of ``objective``
    (:class:`utils.objective.Objective`: the same definition refinement and the limit minimise),
    each width's term averaged over the batch, against ``targets`` (``objective.targets(x)``; training
    passes the cached power spectra; computed from ``x`` here when not given).  ``loss="data"``: the summed
    pixel MSE (:func:`data_loss`).  ``"recon"`` and ``"kl"`` are unweighted, so they can be logged and
    compared across runs with different alpha and beta.
    """
    if loss == "spatial_stats":
        targets = objective.targets(x) if targets is None else targets
        terms = objective.terms(recon, targets)
        rec = terms[0].mean()
        for term in terms[1:]:
            rec = rec + term.mean()
    elif loss == "data":
        rec = data_loss(recon, x)
    else:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    kl = kl_divergence(mu, logvar)
    return {"total": alpha * rec + beta * kl, "recon": rec, "kl": kl}
