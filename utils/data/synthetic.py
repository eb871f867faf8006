"""Synthetic two-phase microstructures drawn in any number: overlapping discs and Gaussian blobs.

Both generators are periodic (a structure leaving one side re-enters at the other, as the
periodic statistics assume) and seeded; images are ``(n, size, size)`` uint8 with **0 = the phase
of interest** (the discs, the blobs), 1 = the matrix, as the lines' black phase is 0.

* :func:`overlapping_discs`: a Boolean model, discs of radius R at Poisson-random centres. Its
  two-point function has a closed form (:func:`disc_two_point`), used as an exact test oracle.
* :func:`gaussian_blobs`: white noise blurred by a Gaussian of width ``sigma`` = (σ_y, σ_x) px and
  thresholded so that the phase takes exactly ``fraction`` of the pixels; σ_y ≠ σ_x elongates the
  blobs (anisotropy), as PoreSpy's ``blobs`` does through its per-axis blobiness.

The dependency weighed: PoreSpy 3 offers both, but would pull its own stack for two functions of a
few lines each; these are ours and tested against the closed form.

>>> images = overlapping_discs(2, 64, radius=5, matrix_fraction=0.6, seed=0)
>>> images.shape, images.dtype
((2, 64, 64), dtype('uint8'))
"""
from __future__ import annotations

import math

import numpy as np

from utils.checks import positive_int

__all__ = ["overlapping_discs", "disc_two_point", "gaussian_blobs"]


def _check(n: int, size: int) -> None:
    positive_int(n, "n (number of images)", minimum=0)
    positive_int(size, "size (px)", minimum=4)


def overlapping_discs(n: int, size: int, *, radius: float, matrix_fraction: float, seed: int = 0) -> np.ndarray:
    """``n`` periodic images of discs of ``radius`` px whose expected matrix fraction is ``matrix_fraction``.

    Centres are a Poisson process of intensity λ = -ln(matrix_fraction) / (π R²) per px², so that
    the probability of a pixel lying in no disc is exp(-λ π R²) = ``matrix_fraction``.  A pixel
    (its centre) belongs to a disc when its periodic distance to the disc's centre is <= R.
    """
    _check(n, size)
    if not 0 < matrix_fraction < 1 or not 0 < radius < size / 2:
        raise ValueError(f"matrix_fraction must lie in (0, 1) and radius in (0, size / 2), got "
                         f"{matrix_fraction}, {radius}")
    rng = np.random.default_rng(seed)
    intensity = -math.log(matrix_fraction) / (math.pi * radius ** 2)
    grid = np.arange(size) + 0.5
    out = np.ones((n, size, size), dtype=np.uint8)
    for image in out:
        centres = rng.uniform(0, size, (rng.poisson(intensity * size * size), 2))
        for cy, cx in centres:
            dy = np.abs(grid - cy)
            dx = np.abs(grid - cx)
            dy, dx = np.minimum(dy, size - dy), np.minimum(dx, size - dx)
            image[(dy[:, None] ** 2 + dx[None, :] ** 2) <= radius ** 2] = 0
    return out


def disc_two_point(r: np.ndarray, *, radius: float, matrix_fraction: float) -> np.ndarray:
    """P(x and x + r both in a disc) of the Boolean model of :func:`overlapping_discs`, |r| = ``r`` px.

    With p = ``matrix_fraction`` and λ π R² = -ln p, two points at distance r are both in the
    matrix with probability exp(-λ U(r)), U(r) = 2πR² - A(r) the area of the union of the two
    discs of radius R centred on them and A(r) = 2R² acos(r / 2R) - (r / 2) sqrt(4R² - r²) their
    lens (0 for r >= 2R); so both are in the disc phase with probability 1 - 2p + exp(-λ U(r)).

    >>> float(disc_two_point(np.array(0.0), radius=5, matrix_fraction=0.6))   # the disc fraction, 1 - p
    0.4
    """
    r = np.asarray(r, dtype=np.float64)
    R, p = float(radius), float(matrix_fraction)
    intensity = -math.log(p) / (math.pi * R ** 2)
    inside = np.minimum(r, 2 * R)
    lens = 2 * R ** 2 * np.arccos(inside / (2 * R)) - inside / 2 * np.sqrt(4 * R ** 2 - inside ** 2)
    union = 2 * math.pi * R ** 2 - lens
    return 1 - 2 * p + np.exp(-intensity * union)


def gaussian_blobs(n: int, size: int, *, fraction: float, sigma: float | tuple[float, float] = 4.0,
                   seed: int = 0) -> np.ndarray:
    """``n`` periodic images whose phase 0 is the ``fraction`` of pixels where blurred noise is highest.

    ``sigma`` (px): the Gaussian's width, one number or (σ_y, σ_x) for blobs elongated along the
    axis of the larger one.  The blur is a product in Fourier space, so the images are periodic.
    """
    _check(n, size)
    sy, sx = (sigma, sigma) if np.isscalar(sigma) else sigma
    if not 0 < fraction < 1 or sy <= 0 or sx <= 0:
        raise ValueError(f"fraction must lie in (0, 1) and sigma be > 0, got {fraction}, {sigma}")
    rng = np.random.default_rng(seed)
    ky = np.fft.fftfreq(size)[:, None]
    kx = np.fft.rfftfreq(size)[None, :]
    kernel = np.exp(-2 * math.pi ** 2 * ((sy * ky) ** 2 + (sx * kx) ** 2))   # FFT of a unit Gaussian
    noise = rng.standard_normal((n, size, size))
    field = np.fft.irfft2(np.fft.rfft2(noise) * kernel, s=(size, size))
    cut = np.quantile(field.reshape(n, -1), 1 - fraction, axis=1)[:, None, None]
    return np.where(field > cut, 0, 1).astype(np.uint8)
