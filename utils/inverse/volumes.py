"""Three dimensions from one micrograph: a volume whose slices have the micrograph's two-point statistics.

What a simulation of transport or mechanics needs is a volume; what a microscope gives is a section.  Reconstruction
from statistics (:func:`utils.inverse.inversion.reconstruct_from_statistics`) carries over: the voxels
x = sigmoid(blur(theta)) of one volume (a Gaussian blur of at most one voxel) are optimised by Adam so that every
slice along each of the three axes has the target's non-periodic two-point function f of phase 0 (soft indicator at
``eps``, :mod:`utils.statistics.two_point`) over the window |r_1|, |r_2| <= c, and the grey optimum is made 0 / 1
with exactly the target's phase fraction (the darkest voxels after a Gaussian blur of
:data:`utils.inverse.inversion.BINARISE_SIGMA`).  No training: the target's statistics and a random start are all
it takes.

Conventions.  A volume is (D, H, W) = (z, y, x), z pointing into the depth, y down, x right; 0 = phase 0 as in every
image of the project.  Its three families of slices, the **planes** ``yz``, ``xz``, ``xy``, are those of
:mod:`utils.statistics.planes` (:data:`~utils.statistics.planes.PLANES`, :func:`~utils.statistics.planes.plane_slices`).

A target is one 2D image (an isotropic material: the same statistics on every plane) or three, one per plane in
that order (an anisotropic one: e.g. the ``xz`` image's rows are the depth); or the statistics themselves,
:class:`utils.inverse.targets.Windows` of one or three windows (e.g. decoded by a statistics VAE: design in 3D).
What one micrograph cannot fix is assumed: with one image, isotropy; with three, that the three sections belong to
one material (their phase fractions must agree); with a design's one window, transverse isotropy about x
(:func:`design_windows`).

The start is a 3D Gaussian random field, filtered separably along z, y and x to the widths whose thresholded fields
have the target's interface density along each axis (:func:`utils.inverse.fields.field_widths`) and thresholded at
exactly the phase fraction; so the first step already has the target's phase fraction and short range.

>>> image = np.ones((32, 32)); image[::8, :] = 0; image[1::8, :] = 0        # stripes along x, 2 px of 8
>>> out = reconstruct_volume(image, shape=(16, 20, 20), steps=30, cutoff=4, progress=False)
>>> out.volume.shape, out.volume.dtype, float((out.volume == 0).mean())   # the phase fraction, exactly
((16, 20, 20), dtype('uint8'), 0.25)
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import tifffile
import torch

from utils.checks import ArrayLike, as_array, check_finite, positive_int
from utils.files import atomic_path
from utils.inverse.fields import _gaussian_transfer, _lowest_are_phase_zero, binarise_at_fractions, field_widths
from utils.inverse.inversion import BINARISE_SIGMA, NONPERIODIC_LR, NONPERIODIC_LR_RISE, START_LOGIT, minimise
from utils.inverse.targets import Windows
from utils.statistics.planes import PLANES, plane_slices, transverse_windows
from utils.statistics.two_point import fast_length, phase_indicator

__all__ = ["VOLUME_STEPS", "VOLUME_CUTOFF", "VOLUME_SMOOTHING", "SMOOTHING_PER_WIDTH", "Volume", "start_widths",
           "window_statistics", "volume_field", "reconstruct_volume", "design_windows"]

VOLUME_STEPS = 400              # Adam steps on the voxels, at the 2D drawing's rising rate: on the seven first held-out
                                # crops (64³) as close as 1,000 steps at a constant 0.15 (0.88-1.18x their errors),
                                # in 0.4x the time; 1,000 rising steps: 0.74-1.0x, interfaces and chords 0.75-1.44
VOLUME_CUTOFF = 31              # the window |r| <= c of the slices' statistics, at most (side - 1) // 2: the 2D
                                # drawing from |r| <= 31 scores 0.0024, from |r| <= 16 0.0046 (docs/experiments.md)
VOLUME_SMOOTHING = 1.0          # the voxels are sigmoid(blur(theta)), a Gaussian of at most this width (voxels) and
SMOOTHING_PER_WIDTH = 0.45      # at most this share of the start field's narrowest filter width: per-voxel logits
                                # leave stripes along the axes (the slices' statistics barely see them).  The ceramics'
                                # first held-out crop: interfaces / micrograph's 1.39-1.42 unblurred, 1.04-1.08 at
                                # 1 voxel (error 0.0041-0.0053 -> 0.0038-0.0051); but 1 voxel erases the copolymer's
                                # 4-px lamellae (error 0.0019-0.0031 -> 0.019), whose field width is 0.33-0.53 px
PHASE_TOLERANCE = 0.05          # three images whose phase fractions differ by more describe different materials


@dataclass
class Volume:
    """What :func:`reconstruct_volume` returns."""

    volume: np.ndarray          # (D, H, W) uint8 of 0 (phase 0) and 1
    grey: np.ndarray            # (D, H, W) float32 in (0, 1): the optimum before binarising
    fraction: float             # the phase-0 fraction the volume has (the target's)
    loss: float                 # the objective of the grey optimum (Σ over planes of the mean slice's Σ_r (f - f_t)²)
    start_loss: float           # the same at the start
    seconds: float              # wall-clock time of the reconstruction

    def save(self, folder: str | Path, name: str = "volume") -> list[Path]:
        """Write ``name.npy`` (the 0 / 1 array, (D, H, W)) and ``name.tif`` (a stack of D 8-bit slices, phase 0
        black, that ImageJ / Fiji open as a volume) into ``folder``, each atomically; returns their paths."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        with atomic_path(folder / f"{name}.npy") as tmp:
            with open(tmp, "wb") as handle:
                np.save(handle, self.volume)
        paths.append(folder / f"{name}.npy")
        with atomic_path(folder / f"{name}.tif") as tmp:
            tifffile.imwrite(tmp, (self.volume * 255).astype(np.uint8), imagej=True, metadata={"axes": "ZYX"})
        paths.append(folder / f"{name}.tif")
        return paths


def _pairs(n: int, c: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """(2c + 1,): the number of pairs (x, x + r) inside n points for r = -c..c."""
    return n - torch.arange(-c, c + 1, dtype=dtype, device=device).abs()


def window_statistics(m: torch.Tensor, cutoff: int) -> torch.Tensor:
    """The non-periodic autocorrelation of indicators m (..., h, w) over the offsets |r_y|, |r_x| <= c only:
    (..., 2c + 1, 2c + 1), r = 0 at (c, c), each offset divided by its number of pairs inside the image.

    The same as ``cutoff_window(autocorrelation(m, periodic=False), c)``, with FFTs padded to h + c and w + c (to
    the next :func:`fast_length`) instead of 2h and 2w: no offset of the window wraps.
    """
    h, w = m.shape[-2:]
    if not 1 <= cutoff <= min(h - 1, w - 1) // 2:
        raise ValueError(f"cutoff must lie in 1..{min(h - 1, w - 1) // 2} for {h} x {w} images (slices or micrographs), "
                         f"got {cutoff}; pass a smaller cutoff or larger images")
    size = (fast_length(h + cutoff), fast_length(w + cutoff))
    spectrum = torch.fft.rfftn(m, s=size, dim=(-2, -1))
    corr = torch.fft.irfftn(spectrum.real.square() + spectrum.imag.square(), s=size, dim=(-2, -1))
    rows = torch.cat([corr[..., -cutoff:, :], corr[..., :cutoff + 1, :]], dim=-2)
    window = torch.cat([rows[..., -cutoff:], rows[..., :cutoff + 1]], dim=-1)
    counts = _pairs(h, cutoff, m.dtype, m.device)[:, None] * _pairs(w, cutoff, m.dtype, m.device)[None, :]
    return window / counts


def _planar_images(target: ArrayLike | Sequence[ArrayLike]) -> list[np.ndarray]:
    """One (isotropic) or three 2D target images as float64 arrays in [0, 1], checked."""
    if isinstance(target, (list, tuple)):
        images = [as_array(t, "micrograph") for t in target]
    else:
        a = as_array(target, "micrograph")
        images = [a] if a.ndim == 2 else list(a) if a.ndim == 3 and len(a) == 3 else None
        if images is None:
            raise ValueError(f"micrograph must be one 2D image (H, W) or three, one per plane {PLANES}, got shape "
                             f"{a.shape}")
    if len(images) not in (1, 3) or any(i.ndim != 2 for i in images):
        raise ValueError(f"micrograph must be one 2D image or three (one per plane {PLANES}), got "
                         f"{[i.shape for i in images]}")
    for i in images:
        check_finite(np.asarray(i, dtype=np.float64), "micrograph")
    out = [np.asarray(i, dtype=np.float64) for i in images]
    for i, image in enumerate(out):
        share = float((image < 0.5).mean())
        if share in (0.0, 1.0):
            raise ValueError(f"micrograph {i} is a single phase (phase-0 fraction {share:g}): there is no texture "
                             "to reconstruct; pass an image holding both phases (0 = phase 0)")
    return out


def _targets(target: ArrayLike | Sequence[ArrayLike] | Windows, cutoff: int,
             eps: float) -> tuple[torch.Tensor, float]:
    """(3, 2c + 1, 2c + 1) float64, the window of f each plane's slices must match, and the phase-0 fraction to give
    the volume: the images' own (their mean, for three), or the windows' f(0)."""
    if isinstance(target, Windows):
        if target.cutoff != cutoff or len(target.values) not in (1, 3):
            raise ValueError(f"Windows for a volume must hold one or three windows of cutoff={cutoff}, got "
                             f"{len(target.values)} of cutoff={target.cutoff}; pass cutoff={target.cutoff}")
        windows = torch.as_tensor(target.values, dtype=torch.float64)
        phi = float(windows[:, cutoff, cutoff].mean())
    else:
        images = _planar_images(target)
        windows = torch.stack([window_statistics(phase_indicator(torch.as_tensor(i), 0.0, eps), cutoff)
                               for i in images])
        phi = float(np.mean([(i < 0.5).mean() for i in images]))
    fractions = windows[:, cutoff, cutoff]
    if not ((fractions > 0) & (fractions < 1)).all():
        raise ValueError(f"the target's phase fractions must lie strictly between 0 and 1, got {fractions.tolist()}")
    if len(windows) == 3 and float(fractions.max() - fractions.min()) > PHASE_TOLERANCE:
        raise ValueError(f"the three images have phase-0 fractions {np.round(fractions.numpy(), 3).tolist()}, more "
                         f"than {PHASE_TOLERANCE} apart: they are not sections of one material; pass images of the same "
                         "material (or one image, assuming isotropy)")
    return windows.expand(3, -1, -1).contiguous(), phi


def _axis_rates(windows: torch.Tensor) -> np.ndarray:
    """(3,) interface densities along z, y, x from the planes' windows: 2 (phi - f(e)) on each axis of each plane,
    the two estimates of each axis averaged."""
    c = windows.shape[-1] // 2
    phi = windows[:, c, c]
    along_rows = (2 * (phi - (windows[:, c - 1, c] + windows[:, c + 1, c]) / 2)).clamp_min(0).numpy()
    along_cols = (2 * (phi - (windows[:, c, c - 1] + windows[:, c, c + 1]) / 2)).clamp_min(0).numpy()
    # yz: rows z, columns y; xz: rows z, columns x; xy: rows y, columns x
    return np.array([(along_rows[0] + along_rows[1]) / 2, (along_cols[0] + along_rows[2]) / 2,
                     (along_cols[1] + along_cols[2]) / 2])


def start_widths(phi: float, rates: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """(3,) the filter widths (voxels) along z, y, x of the start field whose thresholded fields have the interface
    densities ``rates`` at phase fraction ``phi`` (:func:`utils.inverse.fields.field_widths` per axis)."""
    return np.array([field_widths(np.array([phi]), np.array([rate]), n)[0] for n, rate in zip(shape, rates)])


def volume_field(phi: float, rates: np.ndarray, shape: tuple[int, int, int], *, seed: int = 0) -> np.ndarray:
    """(D, H, W) float32 of 0 (phase 0) and 1: a Gaussian field filtered along z, y, x to the widths whose thresholded
    fields have the interface densities ``rates`` (3,) along those axes, with exactly round(phi D H W) voxels of
    phase 0.  Seeded.

    >>> start = volume_field(0.3, np.array([0.2, 0.2, 0.2]), (8, 8, 8), seed=1)
    >>> int((start == 0).sum()) == round(0.3 * 512)
    True
    """
    positive_int(seed, "seed", minimum=0)
    noise = np.random.default_rng([seed, 3]).standard_normal(shape)
    spectrum = np.fft.rfftn(noise, axes=(0, 1, 2))
    for axis, (n, width) in enumerate(zip(shape, start_widths(phi, rates, shape))):
        transfer = _gaussian_transfer(n, np.array([width]), half=axis == 2)[0]
        spectrum = spectrum * transfer.reshape([-1 if a == axis else 1 for a in range(3)])
    return _lowest_are_phase_zero(np.fft.irfftn(spectrum, s=shape, axes=(0, 1, 2)), phi)


def _gaussian_blur(sigma: float):
    """A function that blurs a (D, H, W) tensor by a Gaussian of ``sigma`` voxels along each axis (separable, edges
    repeated, as weighted sums of shifted copies: faster on a CPU than a 3D convolution); the identity when ``sigma``
    is 0."""
    if sigma <= 0:
        return lambda v: v
    radius = max(1, int(np.ceil(3 * sigma)))
    kernel = np.exp(-np.arange(-radius, radius + 1) ** 2 / (2 * sigma ** 2))
    weights = (kernel / kernel.sum()).tolist()

    def blur(v: torch.Tensor) -> torch.Tensor:
        for axis in range(3):
            n = v.shape[axis]
            edges = (v.narrow(axis, 0, 1).expand(*[radius if a == axis else -1 for a in range(3)]),
                     v.narrow(axis, n - 1, 1).expand(*[radius if a == axis else -1 for a in range(3)]))
            padded = torch.cat([edges[0], v, edges[1]], dim=axis)
            out = weights[0] * padded.narrow(axis, 0, n)
            for k in range(1, len(weights)):
                out = out + weights[k] * padded.narrow(axis, k, n)
            v = out
        return v
    return blur


def reconstruct_volume(micrograph: ArrayLike | Sequence[ArrayLike] | Windows,
                       shape: tuple[int, int, int] = (64, 64, 64), *, cutoff: int | None = None,
                       steps: int = VOLUME_STEPS, lr: float = NONPERIODIC_LR, lr_rise: float = NONPERIODIC_LR_RISE,
                       eps: float = 0.25, seed: int = 0,
                       device: str | torch.device = "cpu", smoothing: float | None = None,
                       binarise_sigma: float = BINARISE_SIGMA, progress: bool = True) -> Volume:
    """A (D, H, W) = ``shape`` volume of 0 / 1 whose slices along each axis have ``micrograph``'s statistics.

    ``micrograph``: one 2D image in [0, 1] (0 = phase 0; isotropy assumed), or three, one per plane of :data:`PLANES`
    (yz, xz, xy; module docstring), or :class:`Windows` of one or three windows of f of cutoff ``cutoff`` (e.g. decoded
    by a statistics VAE) with the volume's slice shapes ignored.  ``steps`` Adam steps of rate ``lr`` (rising
    linearly to ``lr_rise`` times it by the last step, as the 2D drawing's) on logits theta minimise, summed over the
    planes, the mean over the plane's slices of Σ_{|r| <= c} (f_slice(r) - f_t(r))² (non-periodic f of the soft
    indicator at ``eps``) of the voxels sigmoid(blur(theta)), a Gaussian blur of ``smoothing`` voxels (default: the smaller of :data:`VOLUME_SMOOTHING` and :data:`SMOOTHING_PER_WIDTH` x the start
    field's narrowest width; 0: none).  ``cutoff`` = c must be at most (side - 1) // 2 of every slice and of every
    micrograph; default: :data:`VOLUME_CUTOFF`, or (side - 1) // 2 of the smallest side of the volume and the
    micrographs when that is less (a Windows target: its own cutoff).
    Seeded by ``seed``; on ``device`` (CPU or CUDA), with a progress bar.  Returns a :class:`Volume` with exactly the
    target's phase fraction (the mean of the three for three images).
    """
    if len(tuple(shape)) != 3:
        raise ValueError(f"shape must be (D, H, W), got {shape!r}")
    shape = tuple(positive_int(s, "each side of shape") for s in shape)
    if cutoff is None:
        sides = [side for image in ([] if isinstance(micrograph, Windows) else _planar_images(micrograph))
                 for side in image.shape]
        cutoff = micrograph.cutoff if isinstance(micrograph, Windows) else \
            min(VOLUME_CUTOFF, (min([*shape, *sides]) - 1) // 2)
    positive_int(steps, "steps", minimum=0)
    if min(shape) - 1 < 2 * cutoff or cutoff < 1:
        raise ValueError(f"a volume of {shape} is too small for the window |r| <= {cutoff}: every side must be at least "
                         f"{2 * cutoff + 1} voxels (or pass a smaller cutoff, at least 1)")
    start_time = time.perf_counter()
    windows, phi = _targets(micrograph, cutoff, eps)
    windows = windows.to(device)
    rates = _axis_rates(windows.cpu())
    start = volume_field(phi, rates, shape, seed=seed)
    if smoothing is None:
        smoothing = min(VOLUME_SMOOTHING, SMOOTHING_PER_WIDTH * float(start_widths(phi, rates, shape).min()))
    theta0 = torch.as_tensor(START_LOGIT * (2 * start - 1), dtype=torch.float32, device=device)[None]
    targets = windows.float()
    blur = _gaussian_blur(smoothing)

    def loss_of(theta: torch.Tensor) -> torch.Tensor:
        m = phase_indicator(torch.sigmoid(blur(theta[0])), 0.0, eps)
        total = theta.new_zeros(1)
        for i, plane in enumerate(PLANES):
            f = window_statistics(plane_slices(m, plane), cutoff)
            total = total + (f - targets[i]).square().sum(dim=(-2, -1)).mean()
        return total

    with torch.no_grad():
        start_loss = float(loss_of(theta0))
    theta, loss = minimise(theta0, loss_of, steps=steps, lr=lr, lr_rise=lr_rise, progress=progress, desc="voxel steps")
    with torch.no_grad():
        grey = torch.sigmoid(blur(theta[0])).float().cpu().numpy()
    volume = binarise_at_fractions(grey[None], np.array([phi]), smoothing=binarise_sigma)[0].astype(np.uint8)
    return Volume(volume, grey, float((volume == 0).mean()), float(loss[0]), start_loss,
                  time.perf_counter() - start_time)


def design_windows(model: torch.nn.Module, code: np.ndarray, cutoff: int) -> np.ndarray:
    """(3, 2c + 1, 2c + 1), c = ``cutoff``: the three planes' targets of a volume drawn from one code (latent_dim,)
    of a statistics VAE (``model.decode``: a window of f of phase 0), e.g. a design of
    :func:`utils.inverse.design.design_in_latent_space`.  The decoded window, cut to |r| <= c, is what the ``xy``
    sections get; the volume is taken to be transversely isotropic about x (:func:`utils.statistics.planes.transverse_windows`),
    so a design's anisotropy xi_x / xi_y holds on ``xy`` and ``xz`` and the ``yz`` cross-section is isotropic."""
    if not getattr(model, "decodes_statistics", False):
        raise ValueError("design_windows needs a statistics VAE (decoder='statistics'); an image VAE's decoded "
                         "images are turned into targets with reconstruct_volume(image) instead")
    with torch.no_grad():
        window = model.decode(torch.as_tensor(np.asarray(code, np.float32)).reshape(1, -1))[0].double().numpy()
    centre = window.shape[-1] // 2
    if not 1 <= cutoff <= centre:
        raise ValueError(f"cutoff must lie in 1..{centre} for the model's decoded window, got {cutoff}")
    return transverse_windows(window[centre - cutoff:centre + cutoff + 1, centre - cutoff:centre + cutoff + 1])
