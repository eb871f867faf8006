"""The two-point statistics of crops: windows of the non-periodic f of phase 0, and their normalised autocovariance.

A crop is a window of a larger piece of material, so its statistics do not wrap: f(r) is the share of the pairs of
pixels (x, x + r) inside the crop that both hold phase 0 (pixels below :data:`utils.project.MICRO_THRESHOLD`), r = 0
in the middle of the window |r_y|, |r_x| <= c (r_y down, r_x right).  :class:`CropStatistics` holds them as rows,
with the phase fraction phi = f(0) and the normalised autocovariance (f - phi²) / (phi (1 - phi)) that the micro
scores compare (zeros for a crop of one phase).

>>> truth = crop_statistics(np.array([[[0, 1, 1], [1, 1, 1], [1, 1, 1]]]), cutoff=1)   # one pixel of phase 0
>>> round(float(truth.fraction[0]), 4), float(truth.maps("autocovariance")[0, 1, 1])     # phi = 1/9; 1 at r = 0
(0.1111, 1.0)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from utils.checks import image_batch
from utils.project import MICRO_THRESHOLD
from utils.statistics.maps import cutoff_window
from utils.statistics.two_point import autocorrelation, normalised_autocovariance

__all__ = ['CropStatistics', 'crop_statistics']


@dataclass
class CropStatistics:
    """The statistics of n crops in the cutoff window, rows flattened ((2c + 1)² offsets, r = 0 in the middle)."""

    fraction: np.ndarray        # (n,) phase-0 fraction phi = f(0)
    raw: np.ndarray             # (n, (2c+1)²) non-periodic f of phase 0
    autocovariance: np.ndarray  # (n, (2c+1)²) (f - phi²) / (phi (1 - phi)); zeros where phi is 0 or 1

    @classmethod
    def from_raw(cls, raw: np.ndarray, cutoff: int) -> "CropStatistics":
        """From windows of f given as rows (n, (2c + 1)²), e.g. decoded ones: phi = their centres."""
        return _from_raw(np.asarray(raw, dtype=np.float64), cutoff)

    def rows(self, index: np.ndarray) -> "CropStatistics":
        return CropStatistics(self.fraction[index], self.raw[index], self.autocovariance[index])

    def maps(self, kind: str = "raw") -> np.ndarray:
        """``raw`` or ``autocovariance`` as maps (n, 2c + 1, 2c + 1), r = 0 at (c, c), r_y down, r_x right."""
        values = getattr(self, kind)
        side = int(round(np.sqrt(values.shape[1])))
        return values.reshape(len(values), side, side)


def _from_raw(raw: np.ndarray, cutoff: int) -> CropStatistics:
    side = 2 * cutoff + 1
    f = torch.as_tensor(raw).reshape(-1, side, side)
    cov = normalised_autocovariance(f, uniform="zero")
    return CropStatistics(f[:, cutoff, cutoff].numpy().copy(), raw, cov.reshape(len(f), -1).numpy())


def crop_statistics(images: np.ndarray, *, cutoff: int, threshold: float = MICRO_THRESHOLD,
                    batch_size: int = 512) -> CropStatistics:
    """The non-periodic statistics of phase 0 (pixels below ``threshold``) of images (n, H, W) in [0, 1]."""
    x = image_batch(images, "images")
    if not 1 <= cutoff <= (min(x.shape[1:]) - 1) // 2:
        raise ValueError(f"cutoff must lie in [1, {(min(x.shape[1:]) - 1) // 2}] for {x.shape[1]} x {x.shape[2]} crops, "
                         f"got {cutoff}")
    raw = np.empty((len(x), (2 * cutoff + 1) ** 2))
    for s in range(0, len(x), batch_size):
        m = torch.as_tensor(np.asarray(x[s:s + batch_size]) < threshold, dtype=torch.float64)
        f = cutoff_window(autocorrelation(m, periodic=False), cutoff)
        raw[s:s + batch_size] = f.reshape(len(f), -1).numpy()
    return _from_raw(raw, cutoff)
