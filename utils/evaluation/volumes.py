"""How well a volume's slices match the micrograph it was drawn from, and how it connects in 3D.

:func:`slice_report` scores, for each plane of :data:`utils.statistics.planes.PLANES`, the volume against that plane's
micrograph by the measures of the 2D work, the normalised autocovariance error over |r| <= 16 (the micro scores,
:func:`utils.evaluation.micro.score`; the micrograph's statistics over the whole image), twice: each slice alone (the
mean of their errors: is every section like the micrograph?) and the plane's statistics, f averaged over its slices
(the volume's two-point function at offsets in that plane); and by the ratios of the descriptors no loss sees
(interfaces, chords, clusters; :mod:`utils.statistics.descriptors`), the slices' mean over the micrograph's.  In a
plane's slices "x" is the image's columns and "y" its rows: for ``xz`` and ``yz`` the rows are the depth z.
:func:`statistics_report` scores the slices against target statistics instead of a micrograph (a design in 3D);
:func:`plane_properties` reads the phase fraction and anisotropy off each plane's statistics.
:func:`connectivity_table` gives the share of each phase's voxels in clusters that span the volume along each axis
(:func:`utils.statistics.descriptors.spanning_share`); :func:`yardsticks` what the slices are compared with: the 2D
limit of the micrograph, other real sections of the material, and the micrograph transposed.  :func:`truth_comparison`
asks how close any volume's slices can come to one micrograph, on a volume whose truth is known (the micrograph its
:func:`middle_section`).

>>> stripes = np.ones((24, 24)); stripes[:, ::6] = 0; stripes[:, 1::6] = 0      # walls 2 px thick, across x
>>> volume = np.ones((24, 24, 24), np.uint8); volume[:, :, ::6] = 0; volume[:, :, 1::6] = 0
>>> report = slice_report(volume, [stripes, stripes, stripes], cutoff=4)
>>> report.loc["xy", ["autocovariance_mse", "plane_mse", "interface_density"]].round(6).tolist()  # xy: the image
[0.0, 0.0, 1.0]
>>> connectivity_table(volume).round(2).loc["phase 0"].tolist()                    # walls span z and y, not x
[1.0, 1.0, 0.0]
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from utils.evaluation.micro import score
from utils.inverse.design import property_table, window_properties
from utils.inverse.inversion import reconstruct_from_statistics
from utils.inverse.volumes import window_statistics
from utils.statistics.planes import PLANES, plane_slices
from utils.statistics.crops import CropStatistics, crop_statistics
from utils.statistics.descriptors import describe, spanning_share
from utils.statistics.objective import Objective

__all__ = ["SLICE_COLUMNS", "mean_error_against", "yardsticks", "slice_report", "statistics_report",
           "plane_properties", "connectivity_table", "SHAPE_COLUMNS", "descriptor_range", "middle_section", "TRUTH_COLUMNS",
           "truth_comparison"]

SLICE_COLUMNS = ("interface_density", "chord0_y", "chord0_x", "chord1_y", "chord1_x", "clusters0", "clusters1")


def _slices(volume: np.ndarray, plane: str) -> np.ndarray:
    """The slices of ``volume`` in ``plane`` as float32 images (n, rows, columns), contiguous."""
    return np.ascontiguousarray(plane_slices(np.asarray(volume, np.float32), plane))


def mean_error_against(images: np.ndarray, reference: CropStatistics) -> float:
    """The mean over ``images`` (n, H, W) of their normalised autocovariance error against one reference's statistics
    (a :class:`CropStatistics` of one row, its cutoff the one scored): the micro scores of notebook 07."""
    cutoff = int(round(np.sqrt(reference.raw.shape[1]))) // 2
    return _mean_error(crop_statistics(np.asarray(images, np.float32), cutoff=cutoff), reference)


def _mean_error(candidate: CropStatistics, reference: CropStatistics) -> float:
    """The mean of :func:`utils.evaluation.micro.score`'s autocovariance error of every row of ``candidate`` against
    the one row of ``reference``."""
    n = len(candidate.fraction)
    return float(score(reference.rows(np.zeros(n, int)), candidate, ["image"] * n, "images")["autocovariance_mse"].mean())


def yardsticks(micrographs: Mapping[str, np.ndarray], real_crops: Mapping[str, np.ndarray], *, cutoff: int,
               seed: int = 0) -> pd.DataFrame:
    """What a volume's slices are compared with, one row per micrograph (name -> (H, W) image), each an error against
    the micrograph over |r| <= ``cutoff``: ``2D limit``, the micrograph reconstructed as a 2D image from its own
    statistics (:func:`utils.inverse.inversion.reconstruct_from_statistics`, its defaults, seeded); ``other real
    crops``, the mean over ``real_crops[name]`` (n, H, W), other sections of the same material; ``transposed``, the
    micrograph mirrored about its diagonal (rows become columns): how far its statistics are from what isotropy
    implies.  An isotropic volume asked for the micrograph on all three planes must give its y axis the micrograph's
    row statistics in ``xy`` and its column statistics in ``yz``, so ``transposed`` measures the part of the target
    that one volume cannot give every plane."""
    names = list(micrographs)
    limit = reconstruct_from_statistics(np.stack([micrographs[n] for n in names]), objective=Objective(periodic=False),
                                        seed=seed, progress=False)
    rows = {}
    for i, name in enumerate(names):
        image = np.asarray(micrographs[name], np.float32)
        truth = crop_statistics(image[None], cutoff=cutoff)
        rows[name] = {"2D limit": mean_error_against(limit.images[i][None], truth),
                      "other real crops": mean_error_against(real_crops[name], truth),
                      "transposed": mean_error_against(np.ascontiguousarray(image.T)[None], truth)}
    return pd.DataFrame(rows).T


def slice_report(volume: np.ndarray, micrographs: Sequence[np.ndarray], *, cutoff: int | None = None) -> pd.DataFrame:
    """One row per plane (``yz``, ``xz``, ``xy``): against the plane's micrograph over |r| <= ``cutoff`` (default 16,
    or less where a slice or a micrograph is too small), ``autocovariance_mse``, the slices' mean autocovariance error,
    and ``plane_mse``, the error of the plane's statistics (f averaged over its slices); the slices' phase-0 fraction;
    and for each of :data:`SLICE_COLUMNS` the slices' mean over the micrograph's (1 = equal).  ``micrographs``: one 2D
    image in [0, 1] per plane (the same one three times for an isotropic target); ``volume``: (D, H, W) of 0 / 1."""
    if len(micrographs) != len(PLANES):
        raise ValueError(f"pass one micrograph per plane {PLANES} (the same one three times when isotropic), got "
                         f"{len(micrographs)}")
    if cutoff is None:
        sides = [*np.shape(volume), *(side for m in micrographs for side in np.shape(m))]
        cutoff = min(16, (min(sides) - 1) // 2)
    return pd.DataFrame({plane: _section_scores(_slices(volume, plane), micrograph, cutoff)
                         for plane, micrograph in zip(PLANES, micrographs)}).T


def _section_scores(slices: np.ndarray, micrograph: np.ndarray, cutoff: int) -> dict[str, float]:
    """One row of :func:`slice_report`: sections (n, rows, columns) of 0 / 1 against one micrograph."""
    truth = crop_statistics(np.asarray(micrograph, np.float32)[None], cutoff=cutoff)
    drawn, original = describe(slices)[list(SLICE_COLUMNS)].mean(), describe(np.asarray(micrograph)[None])
    ratios = drawn / original[list(SLICE_COLUMNS)].iloc[0].replace(0, np.nan)
    each = crop_statistics(slices, cutoff=cutoff)
    mean = CropStatistics.from_raw(each.raw.mean(axis=0, keepdims=True), cutoff)    # the plane's statistics
    return {"autocovariance_mse": _mean_error(each, truth), "plane_mse": _mean_error(mean, truth),
            "phase_fraction": float((slices < 0.5).mean()), **ratios.to_dict()}


def statistics_report(volume: np.ndarray, windows: np.ndarray, *, cutoff: int = 16) -> pd.DataFrame:
    """One row per plane: the slices' mean autocovariance error over |r| <= ``cutoff`` against target statistics
    given as windows of f (1 or 3, 2c + 1, 2c + 1), c >= ``cutoff`` (e.g. a statistics VAE's decoded window, the same
    for the three planes when one is given), the slices' phase-0 fraction beside the target's f(0), and the anisotropy
    xi_x / xi_y of the plane's statistics (:func:`plane_properties`, over the windows' |r| <= c, so every side of
    ``volume``, (D, H, W) of 0 / 1, must be at least 2c + 1) beside the target's."""
    windows = np.asarray(windows, dtype=np.float64)
    c = windows.shape[-1] // 2
    if windows.ndim != 3 or len(windows) not in (1, 3) or c < cutoff:
        raise ValueError(f"windows must be (1 or 3, 2c + 1, 2c + 1) with c >= {cutoff}, got shape {windows.shape}")
    cut = windows[:, c - cutoff:c + cutoff + 1, c - cutoff:c + cutoff + 1]
    anisotropies = plane_properties(volume, cutoff=c)["anisotropy"]
    targets = property_table(window_properties(torch.as_tensor(windows)))["anisotropy"].to_numpy()
    rows = {}
    for i, plane in enumerate(PLANES):
        target = CropStatistics.from_raw(cut[i % len(cut)].reshape(1, -1), cutoff)
        slices = _slices(volume, plane)
        rows[plane] = {"autocovariance_mse": mean_error_against(slices, target),
                       "phase_fraction": float((slices < 0.5).mean()), "target_fraction": float(target.fraction[0]),
                       "anisotropy": float(anisotropies[plane]), "target_anisotropy": float(targets[i % len(targets)])}
    return pd.DataFrame(rows).T


def plane_properties(volume: np.ndarray, *, cutoff: int = 16) -> pd.DataFrame:
    """One row per plane of ``volume`` (D, H, W) of 0 (phase 0) and 1, each side at least 2 ``cutoff`` + 1: the
    phase-0 fraction, the correlation lengths xi_x and xi_y (of the slices' columns and
    rows; voxels) and the anisotropy xi_x / xi_y of the volume's statistics in that plane, f of phase 0 over
    |r| <= ``cutoff`` averaged over the plane's slices (:func:`utils.inverse.design.window_properties`: what a
    design's target is measured by)."""
    m = torch.as_tensor(np.asarray(volume) == 0, dtype=torch.float64)
    f = torch.stack([window_statistics(plane_slices(m, plane), cutoff).mean(dim=0) for plane in PLANES])
    return property_table(window_properties(f)).set_axis(list(PLANES))


def connectivity_table(volume: np.ndarray) -> pd.DataFrame:
    """Rows ``phase 0`` and ``phase 1``, columns ``z``, ``y``, ``x``: the share of the phase's voxels in 6-connected
    clusters that touch both faces of the volume across that axis."""
    return pd.DataFrame({f"phase {p}": spanning_share(volume, p) for p in (0, 1)}, index=["z", "y", "x"]).T


def middle_section(volume: np.ndarray) -> np.ndarray:
    """(H, W) float32: the ``xy`` section in the middle of the depth, ``volume[D // 2]``, of a (D, H, W) volume: the
    micrograph that :func:`truth_comparison` cuts from a volume whose truth is known."""
    v = np.asarray(volume)
    if v.ndim != 3:
        raise ValueError(f"volume must be (D, H, W), got shape {v.shape}")
    return v[v.shape[0] // 2].astype(np.float32)


SHAPE_COLUMNS = SLICE_COLUMNS[:5]   # interfaces and chords: the descriptors whose ratios a volume is held to


def descriptor_range(report: pd.DataFrame) -> tuple[float, float]:
    """(lowest, highest) ratio over the micrograph's of the interfaces and chords (:data:`SHAPE_COLUMNS`) over the
    planes of a :func:`slice_report` (NaN, a descriptor the micrograph lacks, ignored)."""
    ratios = report[list(SHAPE_COLUMNS)].to_numpy(float)
    return float(np.nanmin(ratios)), float(np.nanmax(ratios))


TRUTH_COLUMNS = ("phase-0 fraction", "slices, best plane", "slices, worst plane", "plane's statistics, worst plane",
                 "interfaces and chords, lowest", "interfaces and chords, highest", "phase-0 clusters", "phase-1 clusters",
                 "phase 0 spanning, least axis")


def truth_comparison(truth: np.ndarray, drawn: np.ndarray, *, cutoff: int | None = None, seed: int = 0) -> pd.DataFrame:
    """How close a reconstruction's slices come to a micrograph, beside a volume's that are true.

    ``truth``: a (D, H, W) volume of 0 (phase 0) and 1 whose statistics are the same on every plane (isotropic);
    its :func:`middle_section` is the micrograph; ``drawn``: a volume reconstructed from that micrograph.  Rows:
    ``2D limit`` (the micrograph drawn again as a 2D image from its own statistics,
    :func:`utils.inverse.inversion.reconstruct_from_statistics`, seeded; its one image fills all three planes),
    ``true volume`` and ``reconstruction``; columns :data:`TRUTH_COLUMNS`: the phase-0 fraction; the slices' mean
    autocovariance error against the micrograph over |r| <= ``cutoff`` on their best and worst plane, and the plane's
    statistics' error on the worst plane (:func:`slice_report`); the lowest and highest ratio of interfaces and chords
    over the micrograph's; the clusters of each phase per slice over the micrograph's (mean of the planes): how many
    separate particles the sections show, which two-point statistics do not fix; and the least share of phase 0
    spanning the volume along an axis (:func:`connectivity_table`).  The true volume's row is the yardstick a volume
    can reach: its other sections are as real as the micrograph, and they differ from it.
    """
    truth, drawn = np.asarray(truth), np.asarray(drawn)
    if truth.ndim != 3 or drawn.ndim != 3:
        raise ValueError(f"truth and drawn must be volumes (D, H, W), got shapes {truth.shape} and {drawn.shape}")
    section = middle_section(truth)
    if cutoff is None:
        cutoff = min(16, (min(*truth.shape, *drawn.shape) - 1) // 2)
    image = reconstruct_from_statistics(section[None], objective=Objective(periodic=False), seed=seed,
                                        progress=False).images[0]
    rows = {"2D limit": (pd.DataFrame({"xy": _section_scores(image[None], section, cutoff)}).T, np.nan)}
    for name, volume in (("true volume", truth), ("reconstruction", drawn)):
        rows[name] = (slice_report(volume, [section] * 3, cutoff=cutoff),
                      connectivity_table(volume).loc["phase 0"].min())
    table = {name: dict(zip(TRUTH_COLUMNS, [report["phase_fraction"].mean(), report["autocovariance_mse"].min(),
                                            report["autocovariance_mse"].max(), report["plane_mse"].max(),
                                            *descriptor_range(report), report["clusters0"].mean(),
                                            report["clusters1"].mean(), spans]))
             for name, (report, spans) in rows.items()}
    return pd.DataFrame(table).T
