"""Images from a statistics VAE: z sets the texture, a random field sets where.

The statistics loss never sees where a structure is, yet an image decoder must put every pixel
somewhere: on micrograph crops ours drew blobs with a regular grid of dots (notebook 07).  The
statistics VAE (``config_for("micro", "statistics_vae")``: a :class:`utils.models.VAE` with
``decoder="statistics"``, trained by :mod:`utils.train` like every model) decodes instead the crop's
statistics themselves, the window |r_y|, |r_x| <= c of the non-periodic two-point function f of phase 0
(r = 0 in the middle, r_y down, r_x right), and its loss is the training objective
(:class:`utils.objective.Objective`) on them, with a term of the normalised autocovariances so that
a crop counts whatever its phase fraction.  An image is drawn from decoded statistics by reconstruction
from statistics (:func:`utils.inversion.reconstruct_from_statistics`), which starts from a thresholded
Gaussian random field: its seed places the structures (fixed at evaluation, fresh when sampling), z
decides what they are.

>>> from utils.config import config_for
>>> from utils.models import build_vae
>>> model = build_vae(config_for("micro-smoke", "statistics_vae").model)
>>> model.decode(torch.zeros(2, 9)).shape                              # 2 windows of cutoff 8
torch.Size([2, 17, 17])
"""
from __future__ import annotations

import numpy as np
import torch

from utils.checks import image_batch
from utils.inversion import Inversion, Windows, reconstruct_from_statistics
from utils.models import VAE
from utils.objective import Objective
from utils.statmaps import cutoff_window
from utils.stats import autocorrelation

__all__ = ["crop_windows", "draw_images"]


def crop_windows(images: np.ndarray, cutoff: int) -> np.ndarray:
    """(n, 2c + 1, 2c + 1) float32: the window of the non-periodic f of phase 0 (pixels below 0.5) of crops (n, H, W)."""
    x = np.asarray(image_batch(images, "images"))
    out = np.empty((len(x), 2 * cutoff + 1, 2 * cutoff + 1), np.float32)
    for s in range(0, len(x), 512):
        m = torch.as_tensor(x[s:s + 512] < 0.5, dtype=torch.float64)
        out[s:s + 512] = cutoff_window(autocorrelation(m, periodic=False), cutoff).numpy()
    return out


def draw_images(model: VAE, z: np.ndarray | torch.Tensor, *, seed: int = 0, steps: int | None = None,
                progress: bool = False) -> Inversion:
    """Images (n, S, S) of 0 / 1 drawn from the statistics a statistics VAE decodes from codes ``z`` (n, latent_dim):
    reconstruction from statistics with its non-periodic defaults over the decoder's window (``steps``: its pixel
    steps, None: the default); ``seed`` is the random field's (a fixed one for reconstructions, a fresh one to
    draw the same texture elsewhere)."""
    if not model.decodes_statistics:
        raise ValueError("draw_images needs a statistics VAE (decoder='statistics'); an image VAE's decode(z) is "
                         "already an image")
    cfg = model.config
    with torch.no_grad():
        windows = model.decode(torch.as_tensor(np.asarray(z, dtype=np.float32)))
    return reconstruct_from_statistics(Windows(windows.numpy(), (cfg.image_size, cfg.image_size)),
                                       objective=Objective(periodic=False, cutoff=cfg.window), seed=seed, steps=steps,
                                       progress=progress)
