"""The reconstruction objective: the one definition of the statistics term that training, refinement,
the limit, design and the scripts minimise.

For an image x' (grey, in [0, 1]) and a target x, with f_eps the two-point autocorrelation of the soft
indicator m = exp(-(x - phase)² / (2 eps²)) (:func:`utils.statistics.two_point.spatial_statistics`; r = 0 at the
centre, r_y downwards, r_x to the right), the term of one image is

    Σ_{eps in widths} Σ_r ( f_eps(x')(r) - f_eps(x)(r) )² / scale²

over widths = (eps,), or (eps, sharp_eps) when ``sharp_eps`` > 0.  Periodic statistics (the lines)
are compared by Parseval from the target's power spectrum (:func:`utils.statistics.spectral.power_spectrum`),
the narrow term's target derived exactly from the eps one for binary targets
(:func:`utils.statistics.spectral.binary_spectrum_at_eps`); non-periodic ones (micrograph crops: zero-padded, each
offset divided by its number of pairs) in real space, over the offsets |r_y|, |r_x| <= ``cutoff`` when
it is > 0 (:func:`utils.statistics.maps.cutoff_window`).

:meth:`Objective.targets` turns target images into what :meth:`Objective.per_image` compares against
(computed once: a training caches the power spectra); :meth:`Objective.terms` gives each term.  The statistics VAE,
which decodes the statistics window itself, compares its features instead
(:func:`utils.training.statistics_vae.feature_distance`).

>>> import torch
>>> x = (torch.rand(2, 16, 16, generator=torch.Generator().manual_seed(0)) > 0.6).double()
>>> objective = Objective(sharp_eps=0.1)
>>> objective.per_image(x, objective.targets(x)).abs().max().item() < 1e-9     # an image matches itself
True
>>> moved = torch.roll(x, shifts=5, dims=-1)                                  # the statistics do not see position
>>> objective.per_image(moved, objective.targets(x)).abs().max().item() < 1e-9
True
>>> crops = Objective(periodic=False, cutoff=3)
>>> [t.shape for t in crops.targets(x)]                                       # one 7 x 7 window per image
[torch.Size([2, 7, 7])]
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from utils.statistics.maps import cutoff_window
from utils.statistics.spectral import binary_spectrum_at_eps, power_spectrum, spatial_statistics_sq_distance
from utils.statistics.two_point import spatial_statistics

__all__ = ["Objective"]


@dataclass(frozen=True)
class Objective:
    """The settings of the reconstruction term (module docstring); the paper's are the defaults."""

    phase: float = 0.0        # grey level of the phase whose statistics are compared (0: the black lines)
    eps: float = 0.25         # width of the soft indicator of the main term (the paper: 0.25)
    sharp_eps: float = 0.0    # > 0: add a term with this narrower indicator (0: off, the paper)
    periodic: bool = True     # statistics wrap around the border (lines); False: windows of a larger structure
    cutoff: int = 0           # non-periodic only: compare offsets |r_y|, |r_x| <= cutoff px (0: every offset)
    scale: float = 1.0        # divide both statistics by it (normalize_stats: the training set's largest one)

    def __post_init__(self) -> None:
        if not self.eps > 0 or not self.sharp_eps >= 0 or not self.scale > 0:
            raise ValueError(f"eps and scale must be > 0 and sharp_eps >= 0, got eps={self.eps}, "
                             f"sharp_eps={self.sharp_eps}, scale={self.scale}")
        if self.cutoff < 0 or (self.cutoff and self.periodic):
            raise ValueError(f"cutoff={self.cutoff} applies to the non-periodic statistics only: pass periodic=False "
                             "or cutoff=0")

    @property
    def widths(self) -> tuple[float, ...]:
        """The indicator widths of the terms: (eps,) or (eps, sharp_eps)."""
        return (self.eps, self.sharp_eps) if self.sharp_eps > 0 else (self.eps,)

    @torch.no_grad()
    def targets(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """What :meth:`per_image` compares against, from target images (n, H, W) or (n, 1, H, W) in [0, 1].

        Periodic: ``(P,)``, P the power spectra at ``eps`` (n[, 1], H, W//2 + 1) (a training's cache holds
        these).  Non-periodic: one tensor per width, the statistics (n[, 1], H, W), or their windows
        (n[, 1], 2c + 1, 2c + 1) when ``cutoff`` = c > 0.  No gradient flows to the targets.
        """
        if self.periodic:
            return (power_spectrum(images, phase=self.phase, eps=self.eps),)
        return tuple(self._window(spatial_statistics(images, phase=self.phase, eps=w, periodic=False))
                     for w in self.widths)

    def terms(self, x: torch.Tensor, targets: tuple[torch.Tensor, ...]) -> list[torch.Tensor]:
        """One (n,) tensor per term of images x (n, H, W) or (n, 1, H, W): Σ_r (f(x)(r) - f_t(r))² / scale² per width."""
        n = x.shape[0]
        if self.periodic:
            h, w = x.shape[-2:]
            spectrum = targets[0]
            half = w // 2 + 1
            if spectrum.shape[0] != n or tuple(spectrum.shape[-2:]) != (h, half) or \
                    spectrum[0].numel() // (h * half) != x[0].numel() // (h * w):
                raise ValueError(f"images {tuple(x.shape)} and target spectra {tuple(spectrum.shape)} must hold the "
                                 f"same number of images; the half spectrum of a {h}x{w} image is {h}x{half} "
                                 "(Objective.targets)")
            spectrum = spectrum.reshape(*x.shape[:-1], half)
            spectra = [spectrum] + ([binary_spectrum_at_eps(spectrum, (h, w), phase=self.phase, eps_from=self.eps,
                                                            eps_to=self.sharp_eps)] if self.sharp_eps > 0 else [])
            out = []
            for width, target in zip(self.widths, spectra):
                term = spatial_statistics_sq_distance(x, target, phase=self.phase, eps=width).reshape(n, -1).sum(dim=1)
                out.append(term / (self.scale * self.scale) if self.scale != 1.0 else term)
            return out
        statistics = [self._window(spatial_statistics(x, phase=self.phase, eps=width, periodic=False))
                      for width in self.widths]
        return self._distances(statistics, targets)

    def _distances(self, statistics: list[torch.Tensor], targets: tuple[torch.Tensor, ...]) -> list[torch.Tensor]:
        """Σ_r (f - f_t)² / scale² per width (non-periodic)."""
        if len(targets) != len(self.widths):
            raise ValueError(f"{len(targets)} targets for {len(self.widths)} widths {self.widths} (Objective.targets)")
        n = statistics[0].shape[0]
        out = []
        for f, target in zip(statistics, targets):
            if f[0].numel() != target[0].numel() or target.shape[0] != n:
                raise ValueError(f"the statistics {tuple(f.shape)} and the targets {tuple(target.shape)} must hold the "
                                 "same number of items of the same size (Objective.targets of images of the same size)")
            out.append(((f - target.reshape(f.shape)) / self.scale).square().reshape(n, -1).sum(dim=1))
        return out

    def per_image(self, x: torch.Tensor, targets: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """(n,): the objective of each image x (the sum of :meth:`terms`)."""
        terms = self.terms(x, targets)
        total = terms[0]
        for term in terms[1:]:
            total = total + term
        return total

    def _window(self, f: torch.Tensor) -> torch.Tensor:
        return cutoff_window(f, self.cutoff) if self.cutoff else f
