"""Where reconstruction from statistics starts: a thresholded Gaussian random field.

The statistics loss is flat in most directions of pixel space and full of local minima: an
optimiser started from near-uniform noise keeps its speckle (salt-and-pepper, 2-4x the interfaces
of the material), one started from a smooth field keeps its smoothness.  So the start is drawn to
have, before any step, the two numbers of the target that a two-phase texture is built on:

* the **phase fraction** phi = f(0), exactly: the ``round(phi H W)`` lowest values of the field are
  phase 0;
* the **interface density along y and along x**, in expectation: the share of vertically (and of
  horizontally) neighbouring pixel pairs that differ, d = 2 (phi - f(e)) with f(e) the statistics at
  the one-pixel offset e.  A Gaussian field G filtered separably by Gaussians of widths
  (sigma_y, sigma_x) px has a lag-one correlation rho along each axis set by that axis's width alone;
  thresholded at its phi-quantile u, neighbours differ with probability

      d = 2 (phi - P(G_0 < u, G_e < u)) = 4 T(u, sqrt((1 - rho) / (1 + rho)))

  (T: Owen's T function), which falls as the width grows.  :func:`field_widths` inverts it on a
  ladder of widths, so a lamellar or stretched target gets an anisotropic start.

Conventions: images (n, H, W), rows pointing down (y), columns right (x); the start is phase 0
where it is 0 and 1 elsewhere, as the images of this project.  The field is periodic (filtered by
FFT); nothing in the start depends on where the target's structures are.

>>> start = thresholded_field(np.array([0.3]), np.array([0.2]), np.array([0.2]), (32, 32), seed=0)
>>> float((start == 0).mean()) == round(0.3 * 32 * 32) / (32 * 32)     # the phase fraction, exactly
True
"""
from __future__ import annotations

import numpy as np
import torch
from scipy.ndimage import gaussian_filter
from scipy.special import ndtri, owens_t

from utils.checks import positive_int

__all__ = ["WIDTHS", "difference_rate", "lag_one_correlation", "field_widths", "thresholded_field", "first_offsets",
           "binarise_at_fractions"]

WIDTHS = np.geomspace(0.3, 24.0, 64)   # the ladder of filter widths (px) searched for each axis


def difference_rate(phi: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """Share of neighbouring pairs on two sides of the threshold, for a unit Gaussian field with lag-one
    correlation ``rho`` thresholded at its ``phi``-quantile: 4 T(u, sqrt((1 - rho) / (1 + rho))).

    >>> round(float(difference_rate(np.array(0.5), np.array(0.0))), 6)   # independent pixels: 2 phi (1 - phi)
    0.5
    """
    u = ndtri(np.clip(phi, 1e-12, 1 - 1e-12))
    return 4.0 * owens_t(u, np.sqrt((1.0 - rho) / (1.0 + rho)))


def _gaussian_transfer(n: int, sigma: np.ndarray, half: bool = False) -> np.ndarray:
    """Transfer functions exp(-2 pi² sigma² k²) of periodic Gaussians of widths ``sigma`` (m,) on n points:
    (m, n) over the FFT frequencies (``half``: the n // 2 + 1 of an rfft)."""
    k = np.fft.rfftfreq(n) if half else np.fft.fftfreq(n)
    return np.exp(-2.0 * np.pi ** 2 * np.square(np.asarray(sigma, float))[:, None] * k[None, :] ** 2)


def lag_one_correlation(sigma: np.ndarray, n: int) -> np.ndarray:
    """Lag-one correlation along an axis of n px of white noise filtered periodically by Gaussians of widths
    ``sigma`` (m,): Σ_k |H(k)|² cos(2 pi k / n) / Σ_k |H(k)|², exact on the grid."""
    power = _gaussian_transfer(n, sigma) ** 2
    k = np.fft.fftfreq(n)
    return (power * np.cos(2 * np.pi * k)[None, :]).sum(1) / power.sum(1)


def field_widths(phi: np.ndarray, rate: np.ndarray, n: int) -> np.ndarray:
    """Filter widths (px) along an axis of ``n`` px whose thresholded fields have the difference rates
    ``rate`` (m,) at phase fractions ``phi`` (m,); clipped to the ladder :data:`WIDTHS` (a rate above that
    of the narrowest width gets the narrowest, one below that of the widest the widest)."""
    rho = lag_one_correlation(WIDTHS, n)
    out = np.empty(len(phi))
    for i, (p, d) in enumerate(zip(np.asarray(phi, float), np.asarray(rate, float))):
        rates = difference_rate(np.full(len(WIDTHS), p), rho)    # falls as the width grows
        out[i] = np.interp(-d, -rates, WIDTHS)
    return out


def _lowest_are_phase_zero(values: np.ndarray, phi: float) -> np.ndarray:
    """(H, W) float32: 0 at the ``round(phi H W)`` lowest entries of ``values`` (ties by position), 1 elsewhere."""
    out = np.ones(values.shape, np.float32)
    out.reshape(-1)[np.argsort(values, axis=None, kind="stable")[:int(round(phi * values.size))]] = 0.0
    return out


def binarise_at_fractions(images: np.ndarray, phi: np.ndarray, *, smoothing: float = 0.0) -> np.ndarray:
    """Images (n, H, W) made 0 / 1 with exactly ``round(phi_i H W)`` pixels of phase 0 each: the darkest,
    after a Gaussian blur of ``smoothing`` px (edges: the nearest pixel repeated) when it is > 0, so that a
    grey optimum's lone pixels and frayed edges do not become specks (:data:`utils.inverse.inversion.BINARISE_SIGMA`).

    >>> binarise_at_fractions(np.array([[[0.2, 0.6], [0.4, 0.9]]]), np.array([0.5])).tolist()
    [[[0.0, 1.0], [0.0, 1.0]]]
    >>> speck = np.ones((1, 9, 9)); speck[0, :, :4] = 0; speck[0, 4, 7] = 0      # a dark band, a lone dark pixel
    >>> [int(binarise_at_fractions(speck, np.array([36 / 81]), smoothing=s)[0, 4, 7]) for s in (0, 0.6)]
    [0, 1]
    """
    if not smoothing >= 0:
        raise ValueError(f"smoothing must be >= 0 px, got {smoothing}")
    phi = np.clip(np.asarray(phi, float), 0.0, 1.0)
    images = np.asarray(images)
    if smoothing > 0:
        images = np.stack([gaussian_filter(np.asarray(x, np.float64), smoothing, mode="nearest") for x in images])
    return np.stack([_lowest_are_phase_zero(image, p) for image, p in zip(images, phi)])


def thresholded_field(phi: np.ndarray, rate_y: np.ndarray, rate_x: np.ndarray, shape: tuple[int, int], *,
                      seed: int = 0, offset: int = 0, restarts: int = 1) -> np.ndarray:
    """(m, H, W) float32 images of 0 (phase 0) and 1: Gaussian fields filtered to the widths that give the
    difference rates ``rate_y`` / ``rate_x`` (m,) along y / x, thresholded so that exactly
    ``round(phi H W)`` pixels are phase 0.  The fields come in groups of ``restarts`` per target: field j
    is drawn from the key (``seed``, ``offset`` + j // restarts, j % restarts), so a target's starts do not
    depend on the batch it is drawn in nor on how many restarts it has.  ``seed`` >= 0."""
    phi = np.asarray(phi, float)
    bad = ~np.isfinite(phi) | (phi <= 0) | (phi >= 1)
    if bad.any():
        raise ValueError(f"phase fractions must lie strictly between 0 and 1, got {phi[bad][:3]}; "
                         "a single-phase target has no texture to reconstruct")
    positive_int(seed, "seed", minimum=0)
    h, w = shape
    sy, sx = field_widths(phi, rate_y, h), field_widths(phi, rate_x, w)
    out = np.empty((len(phi), h, w), np.float32)
    for i in range(len(phi)):
        noise = np.random.default_rng([seed, offset + i // restarts, i % restarts]).standard_normal((h, w))
        spectrum = np.fft.rfft2(noise) * _gaussian_transfer(h, sy[i:i + 1])[0][:, None] \
            * _gaussian_transfer(w, sx[i:i + 1], half=True)[0][None, :]
        out[i] = _lowest_are_phase_zero(np.fft.irfft2(spectrum, s=(h, w)), phi[i])
    return out


def first_offsets(f: torch.Tensor) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """phi = f(0), and the difference rates 2 (phi - f(e)) along y and x, of centred statistics ``f``
    (n, h, w) (r = 0 at (h // 2, w // 2); the mean of the offsets ±e of each axis).

    >>> f = torch.zeros(1, 3, 3); f[0, 1, 1] = 0.5; f[0, 0, 1] = f[0, 2, 1] = 0.4; f[0, 1, 0] = f[0, 1, 2] = 0.3
    >>> [np.round(v, 3).tolist() for v in first_offsets(f)]
    [[0.5], [0.2], [0.4]]
    """
    f = f.detach().double().cpu()
    cy, cx = f.shape[-2] // 2, f.shape[-1] // 2
    phi = f[:, cy, cx]
    fy = (f[:, cy - 1, cx] + f[:, cy + 1, cx]) / 2
    fx = (f[:, cy, cx - 1] + f[:, cy, cx + 1]) / 2
    return phi.numpy(), (2 * (phi - fy)).clamp_min(0).numpy(), (2 * (phi - fx)).clamp_min(0).numpy()
