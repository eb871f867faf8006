"""The slices of a volume: the three planes a section can lie in.

A volume is (D, H, W) = (z, y, x): z points into the depth, y down, x right (the rows and columns of every image of
the project); 0 = phase 0.  Its three families of slices, the **planes**, in :data:`PLANES` order (the order of a
three-image target of :func:`utils.inverse.volumes.reconstruct_volume`):

* ``yz``: ``volume[:, :, i]``, (D, H) images, rows z, columns y (the slices across x);
* ``xz``: ``volume[:, j, :]``, (D, W) images, rows z, columns x (across y);
* ``xy``: ``volume[k]``, (H, W) images, rows y, columns x (across z: what a microscope sees from above).
"""
from __future__ import annotations

import numpy as np
import torch

__all__ = ["PLANES", "ACROSS", "plane_slices"]

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
