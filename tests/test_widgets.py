"""Tests of utils.notebook.widgets and of the figures of utils.notebook.plots: the hand-drawn lines image, the demo's
figure, the offset axes of the statistics panel, and figures that show themselves in Jupyter."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from scipy import ndimage

from utils.notebook.plots import NotebookFigure, image_grid, new_figure, offset_extent
from utils.notebook.widgets import draw_lines, lines_explorer, lines_figure, live_figure
from utils.statistics.two_point import spatial_statistics


@settings(max_examples=40, deadline=None)
@given(st.integers(16, 64), st.integers(1, 4), st.integers(1, 4), st.integers(-100, 100),
       st.sampled_from(["vertical", "horizontal"]))
def test_draw_lines_draws_separate_lines_of_the_asked_thickness(size, n_lines, thickness, position, orientation):
    n_lines = min(n_lines, size // (2 * thickness))  # lines and their gaps fit once around the image
    image = draw_lines(size, n_lines=n_lines, position=position, thickness=thickness, orientation=orientation)
    assert image.shape == (size, size) and image.dtype == np.uint8 and set(np.unique(image)) <= {0, 1}
    black = image == 0 if orientation == "vertical" else (image == 0).T  # columns hold the lines
    columns = black.any(axis=0)
    assert columns.sum() == n_lines * thickness
    length = 3 * size // 4
    assert (black.sum(axis=0)[columns] == length).all()
    # runs of black columns, counted periodically (a line may wrap around the edge)
    labels, runs = ndimage.label(np.concatenate([columns, columns]))
    wrapped = runs - (1 if columns[0] and columns[-1] else 0)
    assert wrapped // 2 == n_lines
    assert columns[position % size]  # the first line starts at ``position`` (mod size)


def test_draw_lines_rejects_bad_arguments():
    with pytest.raises(ValueError, match="orientation"):
        draw_lines(32, n_lines=1, position=0, thickness=2, orientation="diagonal")
    with pytest.raises(ValueError, match="thickness"):
        draw_lines(32, n_lines=1, position=0, thickness=0)


@pytest.mark.parametrize("n", [5, 6])
def test_offset_extent_centres_each_pixel_on_its_offset(n):
    left, right, bottom, top = offset_extent((n, n))
    offsets = np.arange(n) - n // 2
    assert (left, right) == (offsets[0] - 0.5, offsets[-1] + 0.5)
    assert (top, bottom) == (offsets[0] - 0.5, offsets[-1] + 0.5)  # row 0 (r_y = -n//2) on top


def test_the_statistics_panel_puts_each_offset_where_the_image_has_it():
    # one vertical segment below the centre of a 9 x 9 image: f(r) > 0 only for r_x = 0, and the
    # panel's axes must label row i as r_y = i - 4, growing downwards like the image's rows
    fig = lines_figure(9, n_lines=1, position=4, thickness=1)
    image_ax, stats_ax = fig.axes[0], fig.axes[1]
    shown = stats_ax.get_images()[0]
    left, right, bottom, top = shown.get_extent()
    assert (left, right, bottom, top) == (-4.5, 4.5, 4.5, -4.5)
    assert stats_ax.yaxis_inverted() and image_ax.yaxis_inverted()       # both: row 0 at the top
    assert stats_ax.get_xlabel() == "r_x (px)" and stats_ax.get_ylabel() == "r_y (px, down)"
    image = draw_lines(9, n_lines=1, position=4, thickness=1)
    expected = spatial_statistics(torch.as_tensor(image, dtype=torch.float32)).numpy()
    np.testing.assert_array_equal(shown.get_array(), expected)
    assert expected[4 + 3, 4] > 0.03 and np.delete(expected, 4, axis=1).max() < 1e-3   # a 6 px vertical segment


def test_figures_show_themselves_as_png_in_jupyter():
    fig = image_grid(np.zeros((2, 8, 8)))
    assert isinstance(fig, NotebookFigure)
    png = fig._repr_png_()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 500
    assert isinstance(new_figure((2, 2)), NotebookFigure)


def test_lines_explorer_draws_the_setting_of_its_sliders():
    draw, controls = lines_explorer(32)
    assert set(controls) == {"position", "n_lines", "thickness", "orientation"}
    fig = draw(position=3, n_lines=2, thickness=2, orientation="horizontal")
    assert isinstance(fig, NotebookFigure) and len(fig.axes) == 3          # image, statistics, colour bar
    image = np.asarray(fig.axes[0].get_images()[0].get_array())
    np.testing.assert_array_equal(image, draw_lines(32, n_lines=2, position=3, thickness=2, orientation="horizontal"))


def test_a_live_figure_redraws_in_place_when_a_slider_moves(monkeypatch):
    """One figure, updated through its display handle: no stale copy of the starting setting stays behind."""
    class Handle:
        def __init__(self):
            self.updates = []

        def update(self, obj):
            self.updates.append(obj)

    handle, shown = Handle(), []
    monkeypatch.setattr("utils.notebook.widgets.display", lambda obj, display_id=False: shown.append(obj) or (
        handle if display_id else None))
    draw, controls = lines_explorer(32)
    live_figure(draw, controls)
    assert len(shown) == 2 and isinstance(shown[1], NotebookFigure)      # the controls, then the figure
    controls["n_lines"].value = 4
    assert len(handle.updates) == 1 and len(shown) == 2                   # redrawn in place, nothing added
    image = np.asarray(handle.updates[0].axes[0].get_images()[0].get_array())
    assert (image == 0).any(axis=0).sum() == 4 * controls["thickness"].value     # four vertical lines now
