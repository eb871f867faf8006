"""The slices of a volume: the three planes a section can lie in.

A volume is (D, H, W) = (z, y, x): z points into the depth, y down, x right (the rows and columns of every image of
the project); 0 = phase 0.  Its three families of slices, the **planes**, in :data:`PLANES` order (the order of a
three-image target of :func:`utils.inverse.volumes.reconstruct_volume`):

* ``yz``: ``volume[:, :, i]``, (D, H) images, rows z, columns y (the slices across x);
* ``xz``: ``volume[:, j, :]``, (D, W) images, rows z, columns x (across y);
* ``xy``: ``volume[k]``, (H, W) images, rows y, columns x (across z: what a microscope sees from above).

One section of an anisotropic material cannot say what the other two look like; :func:`transverse_windows` assumes
the commonest answer, transverse isotropy about x (fibres, rolled grains, lamellae lying along x): the planes that
hold x are alike, and the cross-section across x is isotropic.
"""
from __future__ import annotations

import numpy as np
import torch

__all__ = ["PLANES", "ACROSS", "plane_slices", "transverse_windows"]

PLANES = ("yz", "xz", "xy")                  # the families of slices, in the order of a three-image target
ACROSS = {"yz": "x", "xz": "y", "xy": "z"}   # the axis each plane's slices are stacked along


def plane_slices(volume: torch.Tensor | np.ndarray, plane: str) -> torch.Tensor | np.ndarray:
    """The slices of ``volume`` (..., D, H, W) across one axis, as images (..., n, rows, columns) (module docstring):
    ``yz`` (W, D, H), ``xz`` (H, D, W), ``xy`` (D, H, W).

    >>> v = np.arange(24).reshape(2, 3, 4)
    >>> [plane_slices(v, p).shape for p in PLANES]
    [(4, 2, 3), (3, 2, 4), (2, 3, 4)]
    >>> bool((plane_slices(v, "xz")[1] == v[:, 1, :]).all())
    True
    """
    order = {"yz": (-1, -3, -2), "xz": (-2, -3, -1), "xy": (-3, -2, -1)}
    if plane not in order:
        raise ValueError(f"plane must be one of {PLANES}, got {plane!r}")
    lead = list(range(volume.ndim - 3))
    axes = lead + [volume.ndim + a for a in order[plane]]
    return volume.permute(*axes) if isinstance(volume, torch.Tensor) else np.transpose(volume, axes)


def transverse_windows(window: np.ndarray) -> np.ndarray:
    """The statistics of the three planes (3, 2c + 1, 2c + 1), in :data:`PLANES` order, of a volume that is
    transversely isotropic about x and whose ``xy`` sections have ``window`` (2c + 1, 2c + 1): any two-point function
    of one section (r = 0 at (c, c), rows r_y down, columns r_x right), e.g. a design's decoded statistics.

    ``xz`` (rows z, columns x) and ``xy`` are ``window`` itself: z plays y's part.  ``yz`` (rows z, columns y), the
    cross-section, is isotropic: g(sqrt(r_z² + r_y²)), with g(r) the profile of ``window`` along y at r_x = 0 (the mean
    of its two halves), linearly interpolated and held at g(c) beyond the window's edge.

    >>> w = np.array([[0.1, 0.2, 0.1], [0.3, 0.5, 0.3], [0.1, 0.2, 0.1]])   # longer along x: f(0, 1) = 0.3 > f(1, 0)
    >>> yz, xz, xy = transverse_windows(w)
    >>> bool((xz == w).all() and (xy == w).all()), yz[1].tolist(), round(float(yz[0, 0]), 3)
    (True, [0.2, 0.5, 0.2], 0.2)
    """
    w = np.asarray(window, dtype=np.float64)
    if w.ndim != 2 or w.shape[0] != w.shape[1] or w.shape[0] % 2 == 0:
        raise ValueError(f"window must be one (2c + 1, 2c + 1) window of statistics, got shape {w.shape}")
    c = w.shape[0] // 2
    profile = (w[c:, c] + w[c::-1, c]) / 2                       # g(0), g(1), ..., g(c)
    offsets = np.arange(-c, c + 1)
    radius = np.sqrt(offsets[:, None] ** 2 + offsets[None, :] ** 2)
    cross = np.interp(radius, np.arange(c + 1), profile)          # np.interp holds g(c) beyond c
    return np.stack([cross, w, w])
