"""The statistics VAE's encoder and decoder: a nonlinear probabilistic PCA of the statistics window.

A linear VAE with a Gaussian decoder is probabilistic PCA (Tipping & Bishop 1999; Lucas et al., NeurIPS 2019), and
PCA is what materials scientists already do with two-point statistics (PyMKS).  So the statistics VAE starts as
that PCA and learns only what a linear map cannot:

* **features** of a crop (:func:`window_features`): its normalised autocovariance rho = (f - phi²) / (phi (1 - phi))
  over the window |r_y|, |r_x| <= c (the non-periodic f of phase 0 at eps 0.25, r = 0 in the middle, r_y down, r_x
  right; rho = 0 for a single-phase crop), flattened, then its phase fraction phi = f(0); each times its weight
  (:func:`feature_weights`): 1 for the scored offsets |r| <= ``inner`` (a quarter of the crop), ``OUTER_WEIGHT``
  beyond (a drawing needs them, the score does not), and for phi the square root of the number of scored offsets, so
  that one number of phase fraction weighs as much as the whole scored window of rho;
* **encoder** (:class:`StatisticsEncoder`): features -> mu = linear(features) + MLP(features), and a log variance;
* **decoder** (:class:`StatisticsDecoder`): z -> features = linear(z) + MLP(z), then the window of
  f = phi² + phi (1 - phi) rho that a drawing needs (rho(0) = 1, phi in [PHI_FLOOR, 1 - PHI_FLOOR]);
* **start** (:func:`initialise_from_pca`): both linear maps are the whitened PCA of the training crops' features (each
  coordinate of mu has unit variance over them, as the prior N(0, I) asks) and the MLPs' last layers zero, so that
  decode(encode(x)) is the k-component projection before the first step;
* **loss** (:func:`feature_distance`, through :func:`utils.training.losses.vae_loss`): the squared distance of the
  weighted features, the distance the PCA minimises.

>>> encoder, decoder = StatisticsEncoder(3, 2, 8, inner=1), StatisticsDecoder(3, 2, 8, inner=1)
>>> crops = (torch.rand(20, 1, 16, 16, generator=torch.Generator().manual_seed(0)) > 0.5).float()
>>> initialise_from_pca(encoder, decoder, crops)
>>> with torch.no_grad():
...     mu, _ = encoder(crops)
>>> [round(float(v), 3) for v in mu.std(dim=0, unbiased=False)]          # whitened: unit spread over the crops
[1.0, 1.0, 1.0]
>>> decoder(mu).shape                                                   # windows of f, 5 x 5
torch.Size([20, 5, 5])
>>> w = feature_weights(2, 1)                                           # window |r| <= 2, scored |r| <= 1
>>> [round(v, 2) for v in w[:25].reshape(5, 5)[2].tolist()], w[-1].item()   # the row r_y = 0; phi: sqrt(3 * 3)
([0.1, 1.0, 1.0, 1.0, 0.1], 3.0)
"""
from __future__ import annotations

import math

import torch
from torch import nn

from utils.statistics.maps import cutoff_window
from utils.statistics.two_point import normalised_autocovariance, spatial_statistics

__all__ = ["feature_weights", "window_features", "statistics_features", "feature_distance", "windows_from_features", "StatisticsEncoder", "StatisticsDecoder",
           "initialise_from_pca"]

EPS = 0.25           # width of the soft indicator of phase 0, the objective's (a binary crop: its hard indicator)
PHI_FLOOR = 5e-3     # decoded phase fractions are kept in [PHI_FLOOR, 1 - PHI_FLOOR]
OUTER_WEIGHT = 0.1   # weight of rho beyond the scored window |r| <= S / 4 (a drawing needs it, the score does not)
PHI_WEIGHT = 1.0     # phi weighs as much as the whole scored window of rho


def feature_weights(window: int, inner: int, *, outer_weight: float = OUTER_WEIGHT, phi_weight: float = PHI_WEIGHT
                    ) -> torch.Tensor:
    """((2c + 1)² + 1,) float32: the weight of each feature, 1 for the offsets |r_y|, |r_x| <= ``inner`` (the scored
    window), ``outer_weight`` beyond, ``phi_weight`` * sqrt of the number of inner offsets for phi."""
    side, inner = 2 * window + 1, min(inner, window)
    r = torch.arange(side) - window
    inside = (r.abs()[:, None] <= inner) & (r.abs()[None, :] <= inner)
    weights = torch.where(inside, 1.0, outer_weight).flatten()
    return torch.cat([weights, torch.tensor([phi_weight * (2 * inner + 1)])]).float()


def window_features(f: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """(B, 2c + 1, 2c + 1) windows of f (r = 0 in the middle) -> (B, (2c + 1)² + 1) float32: rho over the window,
    flattened, then phi = f(0), each times its weight (:func:`feature_weights`)."""
    with torch.autocast(f.device.type, enabled=False):
        f = f.to(torch.promote_types(f.dtype, torch.float32))
        c = f.shape[-1] // 2
        rho = normalised_autocovariance(f, uniform="zero")
        return torch.cat([rho.reshape(len(rho), -1), f[:, c, c, None]], dim=1) * weights


def statistics_features(x: torch.Tensor, window: int, weights: torch.Tensor) -> torch.Tensor:
    """(B, 1, H, W) crops in [0, 1] -> their :func:`window_features` over |r_y|, |r_x| <= ``window``."""
    with torch.autocast(x.device.type, enabled=False):
        f = cutoff_window(spatial_statistics(x[:, 0].float(), eps=EPS, periodic=False), window)
    return window_features(f, weights)


def feature_distance(windows: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """(B,): the squared distance of the features (:func:`window_features`) of decoded ``windows`` and of the
    crops' ``targets`` (both (B, 2c + 1, 2c + 1) windows of f): the statistics VAE's reconstruction term, the distance
    its PCA start minimises."""
    return (window_features(windows, weights) - window_features(targets.reshape(windows.shape), weights)
            ).square().sum(dim=1)


def windows_from_features(features: torch.Tensor, window: int, weights: torch.Tensor) -> torch.Tensor:
    """(B, (2c + 1)² + 1) weighted features -> (B, 2c + 1, 2c + 1) windows of f = phi² + phi (1 - phi) rho, rho(0) = 1
    and phi kept in [PHI_FLOOR, 1 - PHI_FLOOR]."""
    side = 2 * window + 1
    plain = features / weights
    centre = side * window + window
    rho = torch.cat([plain[:, :centre], torch.ones_like(plain[:, :1]), plain[:, centre + 1:-1]], dim=1)
    phi = plain[:, -1].clamp(PHI_FLOOR, 1 - PHI_FLOOR)[:, None, None]
    return phi * phi + phi * (1 - phi) * rho.reshape(-1, side, side)


def _mlp(n_in: int, hidden: int, n_out: int) -> nn.Sequential:
    """Linear-ReLU-Linear-ReLU-Linear whose last layer starts at zero (it adds nothing to the PCA at the start)."""
    layers = nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                           nn.Linear(hidden, n_out))
    nn.init.zeros_(layers[-1].weight)
    nn.init.zeros_(layers[-1].bias)
    return layers


class StatisticsEncoder(nn.Module):
    """(B, 1, S, S) -> (mu, logvar), each (B, latent_dim), from the crop's statistics features (module docstring)."""

    def __init__(self, latent_dim: int, window: int, hidden_dim: int, inner: int) -> None:
        super().__init__()
        n = (2 * window + 1) ** 2 + 1
        self.window = window
        self.register_buffer("weights", feature_weights(window, inner))
        self.linear = nn.Linear(n, latent_dim)
        self.residual = _mlp(n, hidden_dim, latent_dim)
        self.to_logvar = nn.Linear(n, latent_dim)
        nn.init.zeros_(self.to_logvar.weight)
        nn.init.constant_(self.to_logvar.bias, math.log(0.1 ** 2))   # sigma 0.1 at the start: the PCA stays legible

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = statistics_features(x, self.window, self.weights)
        return self.linear(features) + self.residual(features), self.to_logvar(features)


class StatisticsDecoder(nn.Module):
    """(B, latent_dim) -> (B, 2c + 1, 2c + 1): windows of f (module docstring)."""

    def __init__(self, latent_dim: int, window: int, hidden_dim: int, inner: int) -> None:
        super().__init__()
        n = (2 * window + 1) ** 2 + 1
        self.window = window
        self.register_buffer("weights", feature_weights(window, inner))
        self.linear = nn.Linear(latent_dim, n)
        self.residual = _mlp(latent_dim, hidden_dim, n)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        features = self.linear(z) + self.residual(z)
        with torch.autocast(z.device.type, enabled=False):
            return windows_from_features(features.float(), self.window, self.weights)


@torch.no_grad()
def initialise_from_pca(encoder: StatisticsEncoder, decoder: StatisticsDecoder, crops: torch.Tensor) -> None:
    """Set both linear maps to the whitened PCA of the features of ``crops`` (n, 1, S, S), n > latent_dim: the encoder's
    rows to the first k components over their standard deviations, the decoder's columns to the components times
    them, both biases to the mean, so that decoding mu gives the k-component projection."""
    features = torch.cat([statistics_features(crops[s:s + 512], encoder.window, encoder.weights)
                          for s in range(0, len(crops), 512)]).double()
    k = encoder.linear.out_features
    if len(features) <= k:
        raise ValueError(f"the PCA start needs more than latent_dim = {k} crops, got {len(features)}")
    mean = features.mean(dim=0)
    _, singular, vt = torch.linalg.svd(features - mean, full_matrices=False)
    components, sd = vt[:k], singular[:k] / math.sqrt(len(features))
    encoder.linear.weight.copy_(components / sd[:, None])
    encoder.linear.bias.copy_(-(components @ mean) / sd)
    decoder.linear.weight.copy_((components * sd[:, None]).T)
    decoder.linear.bias.copy_(mean)
