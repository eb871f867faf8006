"""What reconstruction from statistics is asked to match: target images, or their statistics, typed.

A plain array is always images (n, H, W) or (n, 1, H, W) in [0, 1]; statistics come in a type that says what they
hold, never guessed from a shape: :class:`Spectra` (periodic power spectra of images of a given width) and
:class:`Windows` (non-periodic statistics windows for images of a given shape).  :func:`target_tensors` turns any of
them into what :meth:`utils.statistics.objective.Objective.per_image` compares against, refusing a target whose
statistics are not the objective's.

>>> Windows(np.zeros((2, 3, 3)), image_shape=(16, 16)).cutoff          # offsets |r_y|, |r_x| <= 1
1
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from utils.checks import ArrayLike, as_array, check_finite, image_batch, positive_int
from utils.statistics.objective import Objective

__all__ = ["Spectra", "Windows", "check_target_kind", "check_two_phases", "target_images", "target_tensors"]


@dataclass(frozen=True, eq=False)
class Spectra:
    """A periodic target given by its statistics: the power spectra of images ``width`` px wide.

    ``values``: (n, H, W//2 + 1) half power spectra, n >= 1, H the images' height, W = ``width`` (the half
    spectrum does not tell W: W//2 + 1 columns stand for W = 2k - 2 or 2k - 1), at the objective's ``phase`` and
    ``eps`` (:func:`utils.statistics.spectral.power_spectrum`, e.g. a dataset's cache or :func:`utils.inverse.latent.features_to_spectra`);
    finite, kept as float32 numpy.  For a periodic objective only: the non-periodic statistics cannot be had from them.
    """

    values: np.ndarray
    width: int

    def __post_init__(self) -> None:
        a = as_array(self.values, "Spectra values")
        width = positive_int(self.width, "Spectra width (of the images, px)")
        if a.ndim != 3 or len(a) == 0 or a.shape[-1] != width // 2 + 1:
            raise ValueError(f"Spectra values must be (n >= 1, H, {width // 2 + 1}), the half power spectra of images "
                             f"{width} px wide, got shape {a.shape}; make them with utils.statistics.spectral.power_spectrum(images) "
                             "and pass the images' width")
        check_finite(a, "Spectra values")
        object.__setattr__(self, "values", np.asarray(a, dtype=np.float32))
        object.__setattr__(self, "width", width)

    @property
    def image_shape(self) -> tuple[int, int]:
        """(H, W) of the images these are the spectra of."""
        return self.values.shape[1], self.width


@dataclass(frozen=True, eq=False)
class Windows:
    """A non-periodic target given by its statistics: windows of them, for images of ``image_shape`` (H, W).

    ``values``: (n, 2c + 1, 2c + 1), n >= 1, 1 <= c <= (min(H, W) - 1) // 2: the non-periodic f of the objective's
    ``phase`` at its ``eps`` over the offsets |r_y|, |r_x| <= c, r = 0 at (c, c), r_y down
    (:meth:`utils.statistics.objective.Objective.targets` of ``Objective(periodic=False, cutoff=c)``; e.g. a PCA's, or those a
    statistics VAE decodes); finite, kept as float32 numpy.  For that objective only: no sharp term, cutoff c.
    """

    values: np.ndarray
    image_shape: tuple[int, int]

    def __post_init__(self) -> None:
        a = as_array(self.values, "Windows values")
        shape = tuple(self.image_shape) if isinstance(self.image_shape, (tuple, list)) else ()
        if len(shape) != 2:
            raise ValueError(f"Windows image_shape must be (H, W) of the images to draw, got {self.image_shape!r}")
        h, w = (positive_int(side, "each side of Windows image_shape") for side in shape)
        largest = (min(h, w) - 1) // 2
        if a.ndim != 3 or len(a) == 0 or a.shape[1] != a.shape[2] or a.shape[1] % 2 == 0 or \
                not 1 <= a.shape[1] // 2 <= largest:
            raise ValueError(f"Windows values must be (n >= 1, 2c + 1, 2c + 1) windows of statistics, c in 1..{largest} "
                             f"for {h} x {w} images, got shape {a.shape}; cut them with "
                             "utils.statistics.maps.cutoff_window(f, c)")
        check_finite(a, "Windows values")
        object.__setattr__(self, "values", np.asarray(a, dtype=np.float32))
        object.__setattr__(self, "image_shape", (h, w))

    @property
    def cutoff(self) -> int:
        """c: the window holds the offsets |r_y|, |r_x| <= c."""
        return self.values.shape[-1] // 2


def check_target_kind(target: object, objective: Objective) -> None:
    """Raise ValueError when a typed ``target`` holds other statistics than ``objective`` compares."""
    if isinstance(target, Spectra) and not objective.periodic:
        raise ValueError("Spectra hold periodic statistics, from which the non-periodic ones cannot be had; pass the "
                         "target images (or Windows of their statistics) for a non-periodic objective")
    if isinstance(target, Windows):
        c = target.cutoff
        problem = ("the objective is periodic" if objective.periodic else
                   f"the objective has a sharp term (sharp_eps={objective.sharp_eps})" if objective.sharp_eps > 0 else
                   f"the objective compares cutoff={objective.cutoff}" if objective.cutoff != c else "")
        if problem:
            raise ValueError(f"Windows of cutoff={c} hold non-periodic statistics at eps only, but {problem}; pass "
                             f"objective=Objective(periodic=False, cutoff={c}) (no sharp term)")


def target_images(target: ArrayLike) -> torch.Tensor:
    """Target images (n, H, W) or (n, 1, H, W) as a float64 (n, H, W) tensor; an empty batch refused."""
    images = image_batch(target, "target")
    if len(images) == 0:
        raise ValueError("target is empty; pass at least one image")
    return torch.as_tensor(np.asarray(images, dtype=np.float64))


def target_tensors(target: ArrayLike | Spectra | Windows,
             objective: Objective) -> tuple[list[torch.Tensor], tuple[int, int]]:
    """What ``objective.per_image`` compares against (float32, one tensor per term, n rows) and the (H, W) of the
    images to draw.  Target images of a single phase are refused."""
    check_target_kind(target, objective)
    if isinstance(target, (Spectra, Windows)):
        return [torch.as_tensor(target.values)], target.image_shape
    images = target_images(target)
    blocks = [t.float() for t in objective.targets(images)]
    check_two_phases(images.numpy(), objective.phase)
    return blocks, (images.shape[1], images.shape[2])


def check_two_phases(images: np.ndarray, phase: float) -> None:
    """Raise ValueError naming the first target image (n, H, W) that holds one phase only (no pixel, or
    every pixel, within 0.5 of ``phase``): its statistics hold no texture to reconstruct."""
    share = (np.abs(np.asarray(images, dtype=np.float64) - phase) < 0.5).mean(axis=(1, 2))
    single = np.flatnonzero((share == 0) | (share == 1))
    if len(single):
        raise ValueError(f"target image {int(single[0])} is a single phase (phase-{phase:g} fraction {share[single[0]]:g}): "
                         "its statistics hold no texture to reconstruct; drop it or crop a region with both phases")
