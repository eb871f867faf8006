"""Notebook 09's figures: volumes as three orthogonal slices, as an isosurface, and a slider through the depth.

Conventions of :mod:`utils.inverse.volumes`: a volume is (D, H, W) = (z, y, x) of 0 (phase 0, drawn black) and 1;
its ``xy`` slices are ``volume[k]`` (rows y down, columns x right), its ``xz`` slices ``volume[:, j, :]`` and its
``yz`` slices ``volume[:, :, i]`` (rows z, the depth, down).
"""
from __future__ import annotations

from typing import Mapping

import ipywidgets as widgets
import numpy as np
from mpl_toolkits.mplot3d.art3d import Poly3DCollection
from skimage.measure import marching_cubes

from utils.statistics.planes import ACROSS, PLANES, plane_slices
from utils.notebook.plots import NotebookFigure, image_panel, new_figure
from utils.notebook.widgets import live_figure

__all__ = ["volume_slices_figure", "isosurface_figure", "depth_explorer"]


def volume_slices_figure(volumes: Mapping[str, np.ndarray], micrographs: Mapping[str, np.ndarray], *,
                         first: str = "micrograph") -> NotebookFigure:
    """One row per material: its micrograph (the first column, titled ``first``: e.g. a design drawn in 2D), then the
    middle slice of its volume in each plane (yz, xz, xy)."""
    names = list(volumes)
    fig = new_figure((8.4, 2.1 * len(names)))
    axes = fig.subplots(len(names), 1 + len(PLANES), squeeze=False)
    for i, (row, name) in enumerate(zip(axes, names)):
        image_panel(row[0], micrographs[name], None if i else first)
        row[0].set_ylabel(name, fontsize=9)
        for ax, plane in zip(row[1:], PLANES):
            slices = plane_slices(volumes[name], plane)
            image_panel(ax, slices[len(slices) // 2], None if i else f"{plane} slice (middle {ACROSS[plane]})")
    fig.tight_layout()
    return fig


CORNER = 32     # the isosurfaces show the corner cube of this side: a whole dense volume looks like a closed box


def minority_phase(volume: np.ndarray) -> int:
    """0 or 1: the phase of ``volume`` (0 / 1) with fewer voxels (0 on a tie), the one whose surface shows its shape."""
    return int((np.asarray(volume) == 0).mean() > 0.5)


def _isosurface(ax, volume: np.ndarray, title: str) -> None:
    """The surface of the minority phase in the corner cube (:data:`CORNER`) of ``volume`` on a 3D axes (marching
    cubes at 0.5, the phase inside, closed at the cube's faces)."""
    phase = minority_phase(volume)
    cube = np.asarray(volume)[:CORNER, :CORNER, :CORNER]
    padded = np.pad((cube == phase).astype(float), 1)               # the phase = 1 inside, closed at the faces
    verts, faces, _, _ = marching_cubes(padded, level=0.5)
    verts = verts - 1                                                # undo the padding
    triangles = verts[faces][:, :, ::-1]                             # (x, y, z) for matplotlib
    normals = np.cross(triangles[:, 1] - triangles[:, 0], triangles[:, 2] - triangles[:, 0])
    normals /= np.linalg.norm(normals, axis=1, keepdims=True).clip(1e-12)
    light = np.abs(normals @ np.array([0.4, -0.5, 0.77]))           # shaded by the angle to a light above
    mesh = Poly3DCollection(triangles, linewidth=0)
    mesh.set_facecolor(np.outer(0.3 + 0.7 * light, [0.35, 0.5, 0.85]).clip(0, 1))
    ax.add_collection3d(mesh)
    d, h, w = cube.shape
    ax.set(xlim=(0, w), ylim=(0, h), zlim=(0, d), xlabel="x", ylabel="y", zlabel="z")
    ax.set_title(f"{title}: phase {phase}, {w} x {h} x {d} corner", fontsize=9)
    ax.tick_params(labelsize=6)


def isosurface_figure(volumes: Mapping[str, np.ndarray]) -> NotebookFigure:
    """One 3D panel per volume: the surface of its minority phase in a corner cube (marching cubes, scikit-image)."""
    names = list(volumes)
    fig = new_figure((3.2 * len(names), 3.4))
    for i, name in enumerate(names):
        ax = fig.add_subplot(1, len(names), i + 1, projection="3d")
        _isosurface(ax, volumes[name], name)
    fig.tight_layout()
    return fig


def _depth_figure(volume: np.ndarray, plane: str, depth: int, title: str) -> NotebookFigure:
    slices = plane_slices(volume, plane)
    fig = new_figure((3.4, 3.4))
    image_panel(fig.subplots(), slices[min(depth, len(slices) - 1)],
                f"{title}: {plane} slice {ACROSS[plane]} = {min(depth, len(slices) - 1)}")
    return fig


def depth_explorer(volumes: Mapping[str, np.ndarray]) -> None:
    """A material menu, a plane menu and a slider through the volume: one slice, redrawn in place."""
    names = list(volumes)
    side = max(max(v.shape) for v in volumes.values())
    controls = {"name": widgets.Dropdown(options=names, value=names[0], description="material"),
                "plane": widgets.Dropdown(options=list(PLANES), value="xy", description="plane"),
                "depth": widgets.IntSlider(min=0, max=side - 1, value=side // 2, description="slice",
                                           continuous_update=False)}
    live_figure(lambda name, plane, depth: _depth_figure(volumes[name], plane, depth, name), controls)
