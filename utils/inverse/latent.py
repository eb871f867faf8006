"""The latent space of a trained VAE: codes of images, images of codes, and paths between codes.

The VAE squeezes an image into ``latent_dim`` numbers.  The code of an image is the mean mu of its posterior
(:func:`encode_means`); :func:`decode` draws codes (images, or a statistics VAE's windows); :func:`path_codes` and
:func:`interpolate` walk between two codes.  The classical alternative, the principal components of the statistics,
is :mod:`utils.statistics.pca`; :func:`features_to_spectra` turns its reconstructions of periodic statistics into
targets of reconstruction from statistics.

>>> path_codes(np.zeros(2), np.ones(2), 3).tolist()         # both ends and the middle
[[0.0, 0.0], [0.5, 0.5], [1.0, 1.0]]
"""
from __future__ import annotations

import numpy as np
import torch

from utils.checks import ArrayLike, image_batch
from utils.inverse.targets import Spectra

__all__ = ["features_to_spectra", "encode_means", "decode", "path_codes", "interpolate"]


def features_to_spectra(features: np.ndarray, shape: tuple[int, int]) -> Spectra:
    """Raw statistics vectors (n, H * W) of images of ``shape`` (H, W), r = 0 at the centre, as their
    periodic power spectra (n, H, W//2 + 1): a target of :func:`utils.inverse.inversion.reconstruct_from_statistics`.
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
    """(n, H, W) float32: the decoded images of codes ``z`` (n, latent_dim); a statistics VAE's decoded windows
    (n, 2c + 1, 2c + 1) (:func:`utils.inverse.drawing.draw_images` draws images from them)."""
    z = torch.as_tensor(np.asarray(z, dtype=np.float32))
    if z.dim() != 2:
        raise ValueError(f"z must have shape (n, latent_dim), got {tuple(z.shape)}")
    model.eval()
    device = next(model.parameters()).device
    with torch.no_grad():
        decoded = [model.decode(z[s:s + batch_size].to(device)).float().cpu() for s in range(0, len(z), batch_size)]
    out = torch.cat(decoded)
    return (out if getattr(model, "decodes_statistics", False) else out[:, 0]).numpy()


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
