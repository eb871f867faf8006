"""Tests of utils.widgets: the hand-drawn lines image and the offset axes of the statistics plots."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from scipy import ndimage  # noqa: E402

from utils.widgets import draw_lines, lines_explorer, offset_extent  # noqa: E402


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


def test_lines_explorer_draws_a_static_figure(monkeypatch):
    shown = []
    monkeypatch.setattr(plt, "show", lambda: shown.append(plt.gcf()))
    update, controls = lines_explorer(32)
    assert set(controls) == {"position", "n_lines", "thickness", "orientation"}
    update(position=3, n_lines=2, thickness=2, orientation="horizontal")
    assert len(shown) == 1 and len(shown[0].axes) == 3  # image, statistics, colour bar
    plt.close("all")
