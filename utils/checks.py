"""Input checks at the boundary: images in, numpy arrays of a known shape out, or a clear error.

Every public function that takes images (metrics, search, figures, reconstruction) turns its
input into an array here, so that a wrong shape, a NaN or an image that is not binary is named
the same way everywhere, with what to do about it.

Conventions: an image is ``(H, W)``; a batch ``(n, H, W)`` or ``(n, 1, H, W)`` (the models'
channel axis), given as a numpy array (a memory map is fine) or a torch tensor (any device).
Images are 0 = line (black), 1 = background (white).

>>> image_batch(np.zeros((2, 1, 4, 4))).shape
(2, 4, 4)
>>> image_batch(np.zeros((4, 4)), "originals")
Traceback (most recent call last):
...
ValueError: originals must be a batch of images of shape (n, H, W) or (n, 1, H, W), got shape (4, 4); wrap one image as image[None]
>>> positive_int(np.int64(3), "k"), positive_int(0, "steps", minimum=0)
(3, 0)
>>> positive_int(2.0, "batch_size")
Traceback (most recent call last):
...
ValueError: batch_size must be an integer >= 1, got 2.0
"""
from __future__ import annotations

from typing import Union

import numpy as np
import torch

__all__ = ["ArrayLike", "as_array", "image_batch", "single_image", "float64_tensor", "check_finite",
           "check_binary", "check_same_shape", "positive_int"]

ArrayLike = Union[np.ndarray, torch.Tensor]


def as_array(x: ArrayLike, name: str = "images") -> np.ndarray:
    """``x`` as a numpy array without copying when it already is one (a tensor is detached, moved to the CPU)."""
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    if isinstance(x, np.ndarray):
        return x
    raise TypeError(f"{name} must be a numpy array or a torch tensor, got {type(x).__name__}")


def check_finite(a: np.ndarray, name: str = "images") -> None:
    """Raise ValueError when a floating-point array holds NaN or inf."""
    if np.issubdtype(a.dtype, np.floating) and not np.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or inf values; clean the input (e.g. np.nan_to_num) first")


def image_batch(x: ArrayLike, name: str = "images") -> np.ndarray:
    """A ``(n, H, W)`` view of a batch given as ``(n, H, W)`` or ``(n, 1, H, W)``; NaN/inf refused."""
    a = as_array(x, name)
    if a.ndim == 4 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 3:
        hint = "; wrap one image as image[None]" if a.ndim == 2 else ""
        raise ValueError(f"{name} must be a batch of images of shape (n, H, W) or (n, 1, H, W), "
                         f"got shape {a.shape}{hint}")
    check_finite(a, name)
    return a


def single_image(x: ArrayLike, name: str = "image") -> np.ndarray:
    """A ``(H, W)`` view of one image; leading singleton axes such as ``(1, H, W)`` are dropped."""
    a = as_array(x, name)
    while a.ndim > 2 and a.shape[0] == 1:
        a = a[0]
    if a.ndim != 2:
        raise ValueError(f"{name} must be one image of shape (H, W), got shape {a.shape}; "
                         "loop over a batch or use the batch functions")
    check_finite(a, name)
    return a


def float64_tensor(a: np.ndarray) -> torch.Tensor:
    """A float64 CPU tensor of ``a`` (a read-only memory map is copied: torch needs writable memory)."""
    a = np.asarray(a, dtype=np.float64)
    return torch.from_numpy(a if a.flags.writeable else a.copy())


def check_binary(a: np.ndarray, name: str = "image") -> None:
    """Raise ValueError unless every value of ``a`` is 0 (line) or 1 (background)."""
    if not ((a == 0) | (a == 1)).all():
        raise ValueError(f"{name} must be binary (0 = line, 1 = background); threshold a grey "
                         "image first with utils.evaluation.metrics.threshold_image(x, 0.05)")


def check_same_shape(a: ArrayLike, b: ArrayLike, names: str) -> None:
    """Raise ValueError unless ``a`` and ``b`` have the same shape (``names``: "a and b")."""
    if tuple(a.shape) != tuple(b.shape):
        raise ValueError(f"{names} must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}; "
                         "compare an image with its own reconstruction")


def positive_int(value: object, name: str, *, minimum: int = 1) -> int:
    """``value`` as a Python int when it is an integer (``int`` or a numpy integer, not a bool) >= ``minimum``;
    else ValueError naming ``name``, the bound and the value given (a float such as 2.0 is refused too: a count
    or a size is given as an integer)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)
