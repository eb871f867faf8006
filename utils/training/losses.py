"""VAE losses: the whole objective of a training step, the data-space baseline and KL.

The paper's objective for one image x with reconstruction x' and posterior N(mu, sigma^2):

    L = alpha * || f(x) - f(x') ||^2  +  beta * KL( N(mu, sigma^2) || N(0, I) )

with KL = -1/2 * sum_j (1 + log sigma_j^2 - mu_j^2 - sigma_j^2).  The statistics term is
:class:`utils.statistics.objective.Objective`, the one definition that refinement, the limit and design minimise too
(periodic by Parseval from the targets' power spectra, cached by training; non-periodic in real space).
The "vanilla" baseline replaces it by the summed pixel MSE || x - x' ||^2.  A statistics VAE decodes the
statistics window itself: its term is the distance of its weighted features, the distance its PCA start minimises
(:func:`utils.training.statistics_vae.feature_distance`).

Reductions (same meaning in every function here)
------------------------------------------------
* ``"sum"`` (the paper's): sum over the pixels (or latent dimensions) of each image, then the
  **mean over the batch** -- a per-image value that does not depend on the batch size.
* ``"mean"``: mean over the pixels (latent dimensions) and over the batch.

Averaging over the batch instead of summing only rescales the whole loss by the batch size,
which Adam ignores; the balance between the reconstruction and the KL term, which is what
alpha and beta set, is the same.

>>> kl_divergence(torch.zeros(2, 9), torch.zeros(2, 9)).item()        # the posterior is the prior
0.0
>>> kl_divergence(torch.ones(1, 9), torch.zeros(1, 9)).item()         # 1/2 sum mu^2 = 4.5 nats
4.5
>>> data_loss(torch.ones(1, 1, 2, 2), torch.zeros(1, 1, 2, 2)).item()  # summed over the 4 pixels
4.0
>>> x = (torch.rand(2, 1, 8, 8, generator=torch.Generator().manual_seed(0)) > 0.7).float()
>>> moved = torch.roll(x, shifts=3, dims=-1)                           # the same texture, elsewhere
>>> mu = logvar = torch.zeros(2, 9)
>>> vae_loss(moved, x, mu, logvar)["recon"].item() < 1e-9                # the statistics do not see it
True
>>> vae_loss(moved, x, mu, logvar, loss="data")["recon"].item() > 1      # the pixels do
True
"""
from __future__ import annotations

import torch

from utils.project import LOSSES
from utils.statistics.objective import Objective
from utils.training.statistics_vae import feature_distance

__all__ = ["REDUCTIONS", "data_loss", "kl_divergence", "vae_loss"]

REDUCTIONS = ("sum", "mean")


def _reduce(per_element: torch.Tensor, reduction: str) -> torch.Tensor:
    """(B, ...) -> scalar: per-image sum (or mean) over the non-batch dims, then mean over B."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    flat = per_element.reshape(per_element.shape[0], -1)
    per_image = flat.sum(dim=1) if reduction == "sum" else flat.mean(dim=1)
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
             alpha: float = 1.0, beta: float = 1.0, feature_weights: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """The whole objective: ``{"total": alpha * recon + beta * kl, "recon": ..., "kl": ...}``, each the
    batch mean of a per-image value (the ``"sum"`` reduction, the paper's).

    ``loss="spatial_stats"``: ``recon`` is the reconstruction term of ``objective``
    (:class:`utils.statistics.objective.Objective`: the same definition refinement and the limit minimise),
    each width's term averaged over the batch, against ``targets`` (``objective.targets(x)``; training
    passes the cached power spectra; computed from ``x`` here when not given).  ``loss="data"``: the summed
    pixel MSE (:func:`data_loss`).  ``feature_weights`` (a statistics VAE's): ``recon`` holds statistics windows
    (B, 2c + 1, 2c + 1) decoded by a statistics VAE, compared by the distance of their weighted features
    (:func:`utils.training.statistics_vae.feature_distance`) against ``objective.targets(x)``.  ``"recon"`` and
    ``"kl"`` are unweighted, so they can be logged and compared across runs with different alpha and beta.
    """
    if feature_weights is not None and loss != "spatial_stats":
        raise ValueError(f"decoded statistics are compared by the statistics loss, not loss={loss!r}")
    if loss == "spatial_stats":
        targets = objective.targets(x) if targets is None else targets
        terms = ([feature_distance(recon, targets[0], feature_weights)] if feature_weights is not None
                 else objective.terms(recon, targets))
        rec = terms[0].mean()
        for term in terms[1:]:
            rec = rec + term.mean()
    elif loss == "data":
        rec = data_loss(recon, x)
    else:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    kl = kl_divergence(mu, logvar)
    return {"total": alpha * rec + beta * kl, "recon": rec, "kl": kl}
