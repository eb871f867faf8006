"""Synthetic two-phase microstructures drawn in any number: overlapping discs and Gaussian blobs; overlapping spheres.

Both generators are periodic (a structure leaving one side re-enters at the other, as the
periodic statistics assume) and seeded; images are ``(n, size, size)`` uint8 with **0 = the phase
of interest** (the discs, the blobs), 1 = the matrix, as the lines' black phase is 0.

* :func:`overlapping_discs`: a Boolean model, discs of radius R at Poisson-random centres. Its
  two-point function has a closed form (:func:`disc_two_point`), used as an exact test oracle.
* :func:`overlapping_spheres`: the same Boolean model in 3D, one (size, size, size) volume whose truth is known
  and isotropic (its every section has the statistics :func:`sphere_two_point` gives in closed form): what a
  volume reconstructed from one section is compared with (notebook 09).
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

__all__ = ["overlapping_discs", "disc_two_point", "overlapping_spheres", "sphere_two_point", "gaussian_blobs"]


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


def overlapping_spheres(size: int, *, radius: float, matrix_fraction: float, seed: int = 0) -> np.ndarray:
    """One periodic (size, size, size) uint8 volume of spheres of ``radius`` voxels (phase 0) whose expected matrix
    fraction is ``matrix_fraction``: centres a Poisson process of intensity -ln(matrix_fraction) / (4/3 π R³) per
    voxel; a voxel (its centre) is phase 0 when its periodic distance to a centre is <= R.  Axes (z, y, x).

    >>> volume = overlapping_spheres(24, radius=3, matrix_fraction=0.7, seed=0)
    >>> volume.shape, volume.dtype, bool(0.2 < (volume == 0).mean() < 0.4)
    ((24, 24, 24), dtype('uint8'), True)
    """
    _check(1, size)
    if not 0 < matrix_fraction < 1 or not 0 < radius < size / 2:
        raise ValueError(f"matrix_fraction must lie in (0, 1) and radius in (0, size / 2), got "
                         f"{matrix_fraction}, {radius}")
    rng = np.random.default_rng([seed, 3])
    intensity = -math.log(matrix_fraction) / (4 / 3 * math.pi * radius ** 3)
    centres = rng.uniform(0, size, (rng.poisson(intensity * size ** 3), 3))
    grid = np.arange(size) + 0.5
    out = np.ones((size, size, size), dtype=np.uint8)
    for centre in centres:
        d = [np.minimum(np.abs(grid - c), size - np.abs(grid - c)) ** 2 for c in centre]
        out[(d[0][:, None, None] + d[1][None, :, None] + d[2][None, None, :]) <= radius ** 2] = 0
    return out


def sphere_two_point(r: np.ndarray, *, radius: float, matrix_fraction: float) -> np.ndarray:
    """P(x and x + r both in a sphere) of the Boolean model of :func:`overlapping_spheres`, |r| = ``r`` voxels, in
    any direction (the model is isotropic): 1 - 2p + exp(-λ U(r)) with p = ``matrix_fraction``, λ 4/3 π R³ = -ln p
    and U(r) = 2 (4/3 π R³) - L(r) the volume of the union of two spheres of radius R centred on the two points,
    L(r) = π (4R + r) (2R - r)² / 12 their lens (0 for r >= 2R).

    >>> float(sphere_two_point(np.array(0.0), radius=4, matrix_fraction=0.75))   # the spheres' fraction, 1 - p
    0.25
    """
    r = np.asarray(r, dtype=np.float64)
    R, p = float(radius), float(matrix_fraction)
    ball = 4 / 3 * math.pi * R ** 3
    intensity = -math.log(p) / ball
    inside = np.minimum(r, 2 * R)
    lens = math.pi * (4 * R + inside) * (2 * R - inside) ** 2 / 12
    return 1 - 2 * p + np.exp(-intensity * (2 * ball - lens))


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
