"""Images from a statistics VAE: z sets the texture, a random field sets where.

The statistics loss never sees where a structure is, yet an image decoder must put every pixel
somewhere: on micrograph crops ours drew blobs with a regular grid of dots (notebook 07).  The
statistics VAE (``config_for("micro", "statistics_vae")``: a :class:`utils.training.models.VAE` with
``decoder="statistics"``, :mod:`utils.training.statistics_vae`, trained by :mod:`utils.training.loop` like every
model) decodes instead the crop's statistics themselves: the window |r_y|, |r_x| <= c of the non-periodic two-point
function f of phase 0 (r = 0 in the middle, r_y down, r_x right), built from a decoded normalised autocovariance and
phase fraction.  An image is drawn from decoded statistics by reconstruction
from statistics (:func:`utils.inverse.inversion.reconstruct_from_statistics`), which starts from a thresholded
Gaussian random field: its seed places the structures (fixed at evaluation, fresh when sampling), z
decides what they are.

>>> from utils.training.config import config_for
>>> from utils.training.models import build_vae
>>> model = build_vae(config_for("micro-smoke", "statistics_vae").model)
>>> model.decode(torch.zeros(2, 9)).shape                              # 2 windows of cutoff 15
torch.Size([2, 31, 31])
"""
from __future__ import annotations


import numpy as np
import torch

from utils.inverse.inversion import Inversion, reconstruct_from_statistics
from utils.inverse.targets import Windows
from utils.statistics.objective import Objective
from utils.training.models import VAE

__all__ = ["draw_images"]


def draw_images(model: VAE, z: np.ndarray | torch.Tensor, *, objective: Objective | None = None, seed: int = 0,
                steps: int | None = None, progress: bool = False) -> Inversion:
    """Images (n, S, S) of 0 / 1 drawn from the statistics a statistics VAE decodes from codes ``z`` (n, latent_dim):
    reconstruction from statistics with its non-periodic defaults over the decoder's window (``steps``: its pixel
    steps, None: the default); ``objective``: the statistics the windows are (the model's training
    ``cfg.objective()``; default:
    phase 0 at eps 0.25 over the decoder's window, what the profiles train); ``seed`` is
    the random field's (a fixed one for reconstructions, a fresh one to draw the same texture elsewhere)."""
    if not model.decodes_statistics:
        raise ValueError("draw_images needs a statistics VAE (decoder='statistics'); an image VAE's decode(z) is "
                         "already an image")
    cfg = model.config
    objective = Objective(periodic=False, cutoff=cfg.window) if objective is None else objective
    device = next(model.parameters()).device
    with torch.no_grad():
        windows = model.decode(torch.as_tensor(np.asarray(z, dtype=np.float32), device=device)).float().cpu()
    return reconstruct_from_statistics(Windows(windows.numpy(), (cfg.image_size, cfg.image_size)),
                                       objective=objective, seed=seed, steps=steps,
                                       progress=progress)
