"""Designing microstructures in the latent space: target properties in, microstructures out (notebook 08).

A design is a code z whose decoded image x = decode(z) has the properties asked for.  The
properties, all of phase 0 (dark pixels, x < 0.5 once binarised), measured by :func:`properties`:

* the **volume fraction** phi, the fraction of phase-0 pixels;
* the **correlation lengths** xi_x and xi_y: where the directional profile of the normalised
  autocovariance (f - phi²) / (phi (1 - phi)) along x (along y) first falls to 1/e, linearly
  interpolated (:func:`utils.statistics.maps.correlation_length`), at most the longest offset of the window;
* the **anisotropy** xi_x / xi_y (> 1: features longer along x);
* the **statistics** f themselves, in the model's statistics, which an :class:`utils.statistics.objective.Objective` names
  (``TrainConfig.objective()`` of the model's config; only its ``periodic`` and ``cutoff``, the window
  |r_y|, |r_x| <= cutoff, are read here).  The crop statistics that score designs against held-out crops
  (:func:`compare_design_methods`) have a window of their own, ``window``.

:func:`design_in_latent_space` minimises, over z (the decoder frozen), the weighted cost

    J(z) = w_vf ((phi - phi_t) / 0.01)²  +  w_a (log a - log a_t)²  +  w_f Σ_r (f - f_t)² / Σ_r f_t²

(a 1-point miss of the volume fraction, a factor e of anisotropy and a miss of the whole
statistics' size each cost 1), measured through the smooth indicator sigmoid((0.5 - x) / 0.05) so
that it has a gradient (a statistics VAE's decoded statistics give them exactly), and ranked at the end by
its value on the binarised designs; ``restarts`` starts (the codes of training images that score best, or
z0 ~ N(0, I)) run side by side in one batch, on the optimiser of
:func:`utils.inverse.inversion.refine_latent` (:func:`utils.inverse.inversion.minimise`).  A target outside what the
model draws (:func:`reachable_range`) is refused with the range it can reach.

>>> rho = torch.tensor([[[0.0, 0.0, 0.0], [0.2, 1.0, 0.2], [0.0, 0.0, 0.0]]])   # longer along x than y
>>> xi = correlation_lengths(rho)
>>> [round(float(v), 3) for v in xi[0]]                     # xi_x, xi_y: the 1/e crossings
[0.79, 0.632]
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
import torch

from utils.checks import check_finite, positive_int
from utils.inverse.drawing import draw_images
from utils.inverse.inversion import frozen, minimise, reconstruct_from_statistics
from utils.inverse.latent import decode, interpolate, path_codes
from utils.inverse.targets import Windows
from utils.project import MICRO_THRESHOLD
from utils.statistics.crops import CropStatistics, crop_statistics
from utils.statistics.maps import correlation_length, cutoff_window, directional_profiles
from utils.statistics.objective import Objective
from utils.statistics.pca import StatisticsPCA
from utils.statistics.two_point import autocorrelation, normalised_autocovariance

__all__ = ["DESIGN_STEPS", "DESIGN_LR", "DESIGN_RESTARTS", "DESIGN_DRAWN", "DesignTarget", "Design", "correlation_lengths",
           "soft_properties", "window_properties", "property_table", "properties", "decoded_images",
           "reachable_range", "design_in_latent_space", "interpolation_properties", "compare_design_methods"]

DESIGN_STEPS = 150       # Adam steps on z per design
DESIGN_LR = 0.05         # their learning rate (that of refine_latent)
DESIGN_RESTARTS = 16     # starts per target, side by side in one batch
DESIGN_DRAWN = 6         # a statistics VAE's best designs (by their decoded statistics) drawn as images
VF_UNIT = 0.01           # a volume-fraction miss of one percentage point costs 1
SOFTNESS = 0.05          # temperature of the sigmoid indicator the cost is optimised through


def correlation_lengths(rho: torch.Tensor) -> torch.Tensor:
    """(n, 2): xi_x and xi_y (px) of normalised autocovariance maps ``rho`` (n, H, W), r = 0 at the centre: the
    correlation length (:func:`utils.statistics.maps.correlation_length`) of the directional profile along x and along y,
    differentiable in ``rho``.  A profile that stays above 1/e within the map gets its longest offset, K - 1."""
    profiles = directional_profiles(rho)
    out = []
    for direction in ("x", "y"):
        xi = correlation_length(profiles[direction])
        out.append(torch.where(torch.isinf(xi), torch.full_like(xi, profiles[direction].shape[-1] - 1), xi))
    return torch.stack(out, dim=1)


def _statistics(m: torch.Tensor, objective: Objective) -> torch.Tensor:
    f = autocorrelation(m, periodic=objective.periodic)
    return cutoff_window(f, objective.cutoff) if objective.cutoff else f


def soft_properties(x: torch.Tensor, *, objective: Objective = Objective(periodic=False),
                    temperature: float = SOFTNESS) -> dict[str, torch.Tensor]:
    """The properties of images x (n, H, W) in [0, 1] through the indicator of phase 0
    m = sigmoid((0.5 - x) / ``temperature``) (differentiable; ``temperature=0``: the hard x < 0.5):
    ``volume_fraction`` (n,), ``lengths`` (n, 2) = (xi_x, xi_y), ``statistics`` (n, h, w): f, periodic or not
    as ``objective``, in the window of its ``cutoff`` (all offsets when 0)."""
    m = torch.sigmoid((MICRO_THRESHOLD - x) / temperature) if temperature > 0 else (x < MICRO_THRESHOLD).to(x.dtype)
    f = _statistics(m, objective)
    rho = normalised_autocovariance(f, uniform="zero")
    return {"volume_fraction": m.mean(dim=(-2, -1)), "lengths": correlation_lengths(rho), "statistics": f}


def window_properties(f: torch.Tensor) -> dict[str, torch.Tensor]:
    """The properties read off statistics windows ``f`` (n, 2c + 1, 2c + 1) of phase 0, r = 0 at the centre (what a
    statistics VAE decodes): ``volume_fraction`` = f(0), ``lengths`` and ``statistics`` = f, as :func:`soft_properties`
    gives them for a binary image whose non-periodic statistics these are (exact: no indicator softness)."""
    c = f.shape[-1] // 2
    return {"volume_fraction": f[:, c, c], "lengths": correlation_lengths(normalised_autocovariance(f, uniform="zero")),
            "statistics": f}


def _decoded_properties(model: torch.nn.Module, z: torch.Tensor, objective: Objective) -> dict[str, torch.Tensor]:
    """:func:`window_properties` of a statistics VAE's decoded windows, else :func:`soft_properties` of decoded images."""
    if model.decodes_statistics:
        return window_properties(model.decode(z))
    return soft_properties(model.decode(z)[:, 0].float(), objective=objective)


def decoded_images(model: torch.nn.Module, z: np.ndarray, *, seed: int = 0, steps: int | None = None) -> np.ndarray:
    """(n, H, W) float32 microstructures of codes ``z`` (n, latent_dim): an image VAE's decoded images, or the
    images a statistics VAE draws from its decoded statistics (0 / 1; ``seed``: its random field's, the placement;
    ``steps``: the drawing's pixel steps, None: the default of :func:`utils.inverse.drawing.draw_images`)."""
    if model.decodes_statistics:
        return draw_images(model, z, seed=seed, steps=steps).images
    return decode(model, z)


def properties(images: np.ndarray, *, objective: Objective = Objective(periodic=False)) -> pd.DataFrame:
    """One row per image (n, H, W) in [0, 1], binarised (phase 0 below 0.5, :data:`utils.project.MICRO_THRESHOLD`):
    volume_fraction, xi_x, xi_y (px; in the statistics of ``objective``), anisotropy = xi_x / xi_y (NaN for a
    single-phase image)."""
    with torch.no_grad():
        p = soft_properties(torch.as_tensor(np.asarray(images, dtype=np.float64)), objective=objective, temperature=0.0)
    return property_table(p)


def property_table(p: dict[str, torch.Tensor]) -> pd.DataFrame:
    """One row per item of properties ``p`` (:func:`soft_properties` or :func:`window_properties`): volume_fraction,
    xi_x, xi_y and anisotropy = xi_x / xi_y (NaN where a length is 0: a single-phase item)."""
    xi = p["lengths"].detach().numpy()
    with np.errstate(divide="ignore", invalid="ignore"):          # a single-phase image has no lengths
        anisotropy = np.where((xi[:, 0] > 0) & (xi[:, 1] > 0), xi[:, 0] / np.where(xi[:, 1] > 0, xi[:, 1], 1), np.nan)
    return pd.DataFrame({"volume_fraction": p["volume_fraction"].detach().numpy(), "xi_x": xi[:, 0], "xi_y": xi[:, 1],
                         "anisotropy": anisotropy})


@dataclass(frozen=True)
class DesignTarget:
    """What a design must meet; any of the three, weighted by ``weights`` (vf, anisotropy, statistics)."""

    volume_fraction: float | None = None     # phase-0 fraction in (0, 1)
    anisotropy: float | None = None          # xi_x / xi_y, > 0
    statistics: np.ndarray | None = None     # f of phase 0 (h, w): in the model's statistics (its objective's window)
    weights: tuple[float, float, float] = (1.0, 1.0, 1.0)

    def __post_init__(self) -> None:
        if self.volume_fraction is None and self.anisotropy is None and self.statistics is None:
            raise ValueError("a DesignTarget needs a volume_fraction, an anisotropy or statistics (or several)")
        if self.volume_fraction is not None and not 0 < self.volume_fraction < 1:
            raise ValueError(f"volume_fraction must lie in (0, 1), got {self.volume_fraction}")
        if self.anisotropy is not None and not self.anisotropy > 0:
            raise ValueError(f"anisotropy must be > 0 (xi_x / xi_y), got {self.anisotropy}")
        if self.statistics is not None:
            check_finite(np.asarray(self.statistics), "target statistics")
            if not np.any(np.asarray(self.statistics)):
                raise ValueError("target statistics are all zero (an empty phase 0): there is nothing to design")
        if len(self.weights) != 3 or min(self.weights) < 0:
            raise ValueError(f"weights must be three numbers >= 0 (vf, anisotropy, statistics), got {self.weights}")


@dataclass
class Design:
    """The designs of one target, best first."""

    images: np.ndarray        # (k, H, W) float32 in [0, 1]: the designs (k = restarts, or a statistics VAE's drawn)
    z: np.ndarray             # (k, latent_dim) their codes
    cost: np.ndarray          # (k,) J of the binarised designs (they are ranked by it)
    properties: pd.DataFrame  # one row per design (binarised): see :func:`properties`, plus the misses
    statistics: np.ndarray    # (k, h, w) their statistics f of phase 0 (binarised; the model's window)
    seconds: float            # wall time of the whole design


def reachable_range(model: torch.nn.Module, codes: np.ndarray | None = None, *,
                    objective: Objective = Objective(periodic=False), n: int = 512,
                    seed: int = 0) -> dict[str, tuple[float, float]]:
    """The range of volume fraction and anisotropy over the images the model decodes from ``codes``
    (n, latent_dim), e.g. the mu of its training images (what the training data holds), or, when None,
    from ``n`` prior samples z ~ N(0, I) (seeded), measured in the statistics of ``objective``; for a
    statistics VAE, over its decoded statistics."""
    if codes is None:
        codes = np.random.default_rng(seed).standard_normal((n, model.config.latent_dim)).astype(np.float32)
    if model.decodes_statistics:
        with torch.no_grad():
            table = property_table(window_properties(model.decode(torch.as_tensor(np.asarray(codes, np.float32)))))
    else:
        table = properties(decode(model, codes), objective=objective)
    return {k: (float(table[k].min()), float(table[k].max())) for k in ("volume_fraction", "anisotropy")}


def _check_reachable(target: DesignTarget, reach: dict[str, tuple[float, float]]) -> None:
    for name, value in (("volume_fraction", target.volume_fraction), ("anisotropy", target.anisotropy)):
        lo, hi = reach[name]
        if value is not None and not lo <= value <= hi:
            raise ValueError(f"a {name.replace('_', ' ')} of {value:g} is outside what this model draws: "
                             f"{lo:.3g} to {hi:.3g} (reachable_range); choose a target inside that range")


def design_in_latent_space(model: torch.nn.Module, objective: Objective, target: DesignTarget, *,
                           restarts: int = DESIGN_RESTARTS, steps: int = DESIGN_STEPS, lr: float = DESIGN_LR,
                           codes: np.ndarray | None = None, reachable: dict[str, tuple[float, float]] | None = None,
                           drawn: int = DESIGN_DRAWN, draw_steps: int | None = None, seed: int = 0) -> Design:
    """Codes whose decoded microstructures meet ``target`` (module docstring), best first.

    ``objective``: the model's statistics (``cfg.objective()`` of its training config: its ``periodic`` and
    ``cutoff`` say which statistics the properties and ``target.statistics`` are in).  ``model`` is an
    image VAE or a statistics VAE (``decoder="statistics"``, :mod:`utils.inverse.drawing`: its decoded statistics are optimised,
    exactly, and the ``drawn`` best by them are drawn as images, in ``draw_steps`` pixel steps; an image VAE's
    designs are all kept).
    ``codes`` (m, latent_dim), e.g. the mu of the training images: the ``restarts`` starts are the codes
    whose decoded microstructures already cost least (repeated when m < ``restarts``),
    else z0 ~ N(0, I) seeded.  A volume fraction or anisotropy outside ``reachable``
    (default: :func:`reachable_range` of ``codes``) is refused with a ValueError stating the range.
    Deterministic in ``seed``.
    """
    start_time = time.perf_counter()
    latent_dim = model.config.latent_dim
    restarts = positive_int(restarts, "restarts")
    if model.decodes_statistics and (objective.periodic or objective.cutoff != model.config.window):
        raise ValueError(f"a statistics VAE decodes non-periodic statistics in the window of cutoff={model.config.window}, "
                         f"got periodic={objective.periodic}, cutoff={objective.cutoff}; pass the objective of its "
                         "training config (cfg.objective())")
    if codes is not None and (np.ndim(codes) != 2 or np.shape(codes)[1] != latent_dim or len(codes) == 0):
        raise ValueError(f"codes must be (m >= 1, {latent_dim}) latent codes (e.g. encode_means of training "
                         f"images), got shape {np.shape(codes)}")
    _check_reachable(target, reachable or reachable_range(model, codes, objective=objective, seed=seed))
    w_vf, w_a, w_f = target.weights
    f_t = None if target.statistics is None else torch.as_tensor(np.asarray(target.statistics, np.float32))

    def cost(p: dict[str, torch.Tensor]) -> torch.Tensor:
        total = p["volume_fraction"].new_zeros(p["volume_fraction"].shape[0])
        if target.volume_fraction is not None:
            total = total + w_vf * ((p["volume_fraction"] - target.volume_fraction) / VF_UNIT) ** 2
        if target.anisotropy is not None:
            ratio = p["lengths"][:, 0].clamp_min(1e-3) / p["lengths"][:, 1].clamp_min(1e-3)
            total = total + w_a * (ratio.log() - math.log(target.anisotropy)) ** 2
        if f_t is not None:
            if tuple(f_t.shape) != tuple(p["statistics"].shape[-2:]):
                raise ValueError(f"target statistics of shape {tuple(f_t.shape)}, but this model's are "
                                 f"{tuple(p['statistics'].shape[-2:])} (periodic={objective.periodic}, "
                                 f"cutoff={objective.cutoff})")
            f = p["statistics"].to(f_t.dtype)
            total = total + w_f * (f - f_t).square().sum(dim=(-2, -1)) / f_t.square().sum()
        return total

    def cost_of(z: torch.Tensor) -> torch.Tensor:
        return cost(_decoded_properties(model, z, objective))

    model.eval()
    if codes is None:
        z0 = np.random.default_rng(seed).standard_normal((restarts, latent_dim))
    else:                         # the codes whose decoded microstructures are closest to the target already
        with torch.no_grad():
            given = torch.as_tensor(np.asarray(codes, dtype=np.float32))
            start = torch.cat([cost_of(given[i:i + 512]) for i in range(0, len(given), 512)]).numpy()
        z0 = given.numpy()[np.resize(np.argsort(start, kind="stable"), restarts)]
    z0 = torch.as_tensor(np.asarray(z0, dtype=np.float32))
    with frozen(model):
        z, loss = minimise(z0, cost_of, steps=steps, lr=lr, progress=False)
        if model.decodes_statistics:         # drawing costs pixel steps: only the best by the exact cost
            with torch.no_grad():
                z = z[np.argsort(cost_of(z).numpy(), kind="stable")[:max(1, drawn)]]
    images = decoded_images(model, z.numpy(), seed=seed, steps=draw_steps)
    with torch.no_grad():      # ranked by the cost of the binarised designs, what a user gets
        measured = soft_properties(torch.as_tensor(images), objective=objective, temperature=0.0)
        hard = cost(measured)
    order = np.argsort(hard.numpy(), kind="stable")
    table = properties(images[order], objective=objective)
    if target.volume_fraction is not None:
        table["vf_miss"] = (table["volume_fraction"] - target.volume_fraction).abs()
    if target.anisotropy is not None:
        table["anisotropy_miss"] = np.abs(np.log(table["anisotropy"] / target.anisotropy))
    table["cost"] = hard.numpy()[order]
    return Design(images[order], z.numpy()[order], hard.numpy()[order], table,
                  measured["statistics"].numpy()[order], time.perf_counter() - start_time)


def interpolation_properties(model: torch.nn.Module, z_from: np.ndarray, z_to: np.ndarray, *, steps: int = 9,
                             objective: Objective = Objective(periodic=False),
                             draw_steps: int | None = None) -> tuple[np.ndarray, pd.DataFrame]:
    """The images decoded along the straight path from ``z_from`` to ``z_to`` (steps, H, W) and their
    :func:`properties` in the statistics of ``objective``, with the path parameter ``t`` in [0, 1] (a statistics
    VAE draws every image from the same white noise, filtered to each point's statistics, so the structures start
    from the same places, in ``draw_steps`` pixel steps, None: the drawing's default)."""
    if model.decodes_statistics:     # one drawing per point: each from the same random field (offset 0)
        path = path_codes(z_from, z_to, steps)
        images = np.concatenate([decoded_images(model, path[i:i + 1], steps=draw_steps) for i in range(steps)])
    else:
        images = interpolate(model, z_from, z_to, steps)
    table = properties(images, objective=objective)
    table.insert(0, "t", np.linspace(0.0, 1.0, steps))
    return images, table


def _score(result: np.ndarray, truth: CropStatistics, target: DesignTarget, *, window: int,
           objective: Objective) -> dict[str, float]:
    got = properties(result[None], objective=objective).iloc[0]
    raw = crop_statistics(result[None], cutoff=window).raw[0]
    defined = target.anisotropy is not None and np.isfinite(got["anisotropy"])
    return {"vf_miss": abs(float(got["volume_fraction"]) - target.volume_fraction),
            "anisotropy_miss": abs(math.log(float(got["anisotropy"]) / target.anisotropy)) if defined else math.nan,
            "statistics_error": float(((raw - truth.raw[0]) ** 2).sum() / (truth.raw[0] ** 2).sum())}


def compare_design_methods(model: torch.nn.Module, objective: Objective, crops: np.ndarray, names: Sequence[str],
                           pca: StatisticsPCA, *, codes: np.ndarray, window: int, limit_steps: int,
                           restarts: int = DESIGN_RESTARTS, steps: int = DESIGN_STEPS,
                           seed: int = 0) -> tuple[pd.DataFrame, list[dict[str, np.ndarray]]]:
    """The same targets met three ways: each held-out crop of ``crops`` (n, H, W) gives a target (its
    volume fraction, anisotropy and statistics, in the model's statistics ``objective``) met by
    :func:`design_in_latent_space` (from ``codes``, ``restarts`` starts of ``steps`` steps; a statistics VAE's best
    design drawn in ``limit_steps`` pixel steps), by the reconstruction from its statistics (the limit,
    ``limit_steps``) and in the space of ``pca`` (:class:`utils.statistics.pca.StatisticsPCA` of the crop statistics in the
    scoring window, offsets |r_y|, |r_x| <= ``window``): the crop's statistics projected on its components, then
    drawn by the reconstruction from those statistics (over the window only, while the limit sees every offset of
    the crop's statistics, so the two pixel routes are not like for like).

    Returns one row per (target, method): name, method, vf_miss, anisotropy_miss (|log ratio|),
    statistics_error (Σ (f - f_t)² / Σ f_t² over the scoring window, binarised result),
    seconds; and per target the images {"target", "latent", "from_statistics", "pca"}.
    """
    rows, shown = [], []
    for crop, name in zip(np.asarray(crops), names):
        truth = crop_statistics(crop[None], cutoff=window)
        p = properties(crop[None], objective=objective).iloc[0]
        f_model = soft_properties(torch.as_tensor(crop[None], dtype=torch.float64), objective=objective,
                                  temperature=0.0)["statistics"][0].float().numpy()
        anisotropy = float(p["anisotropy"]) if np.isfinite(p["anisotropy"]) else None   # None: a single phase
        target = DesignTarget(volume_fraction=float(np.clip(p["volume_fraction"], 1e-3, 1 - 1e-3)),
                              anisotropy=anisotropy, statistics=f_model)
        results, seconds = {}, {}
        start = time.perf_counter()
        results["latent"] = design_in_latent_space(model, objective, target, codes=codes, seed=seed, drawn=1,
                                                   restarts=restarts, steps=steps, draw_steps=limit_steps,
                                                   reachable={"volume_fraction": (0, 1), "anisotropy": (0, np.inf)}).images[0]
        seconds["latent"] = time.perf_counter() - start
        start = time.perf_counter()
        single = truth.fraction[0] in (0.0, 1.0)         # a uniform crop is its own (and the only) answer
        results["from_statistics"] = crop.astype(np.float32) if single else reconstruct_from_statistics(
            crop[None], objective=Objective(periodic=False), steps=limit_steps, seed=seed, progress=False).images[0]
        seconds["from_statistics"] = time.perf_counter() - start
        start = time.perf_counter()
        projected = Windows(pca.project(truth).maps("raw"), crop.shape)
        results["pca"] = reconstruct_from_statistics(projected, objective=Objective(periodic=False, cutoff=window),
                                                     steps=limit_steps, seed=seed, progress=False).images[0]
        seconds["pca"] = time.perf_counter() - start
        for method, image in results.items():
            rows.append({"name": name, "method": method, **_score(image, truth, target, window=window, objective=objective),
                         "seconds": seconds[method]})
        shown.append({"target": crop, **results})
    return pd.DataFrame(rows), shown
