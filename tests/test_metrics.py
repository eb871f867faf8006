"""utils.evaluation.metrics: the paper's appendix-B metrics, automated line counting, MSEs."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings, strategies as st
from hypothesis.extra.numpy import arrays
from scipy import ndimage

from utils.data.lines import generate_lines, line_gap, line_thickness_range
from utils.evaluation.metrics import (count_lines, data_mse, data_mse_batch, line_orientation, lines_summary,
                                      min_line_area, spatial_stats_mse, spatial_stats_mse_batch, threshold_image,
                                      volume_fraction_difference, volume_fraction_differences)

SETTINGS = settings(max_examples=25, deadline=None)


def blank(size: int = 64) -> np.ndarray:
    return np.ones((size, size), dtype=np.uint8)


# ----------------------------------------------------------------------------- thresholding

def test_threshold_is_the_papers_eq2_for_arrays_and_tensors():
    x = np.array([[0.0, 0.0499], [0.05, 1.0]])
    assert threshold_image(x).tolist() == [[0, 0], [1, 1]]
    assert threshold_image(x).dtype == np.uint8
    t = threshold_image(torch.tensor(x, dtype=torch.float32), 0.04)
    assert t.dtype == torch.float32 and t.tolist() == [[0.0, 1.0], [1.0, 1.0]]


# ----------------------------------------------------------------------------- volume fraction

def test_volume_fraction_difference_known_answers():
    original = blank(10)
    original[:, 2:4] = 0                       # 20 line pixels
    recon = np.full((10, 10), 0.9)
    recon[:5, 2:5] = 0.01                      # 15 pixels below 0.05
    assert volume_fraction_difference(original, recon) == 25.0
    recon[:, 2:5] = 0.049                      # 30 pixels below 0.05 -> 50 % too many
    assert volume_fraction_difference(original, recon) == 50.0
    assert volume_fraction_difference(torch.tensor(original), torch.tensor(recon)) == 50.0
    recon = np.ones((10, 10))
    recon.flat[:2] = 0.0                       # 2 of 3 original pixels missing -> 66.6667 (4 decimals)
    original = blank(10)
    original.flat[:3] = 0
    assert volume_fraction_difference(original, recon) == 33.3333
    assert volume_fraction_difference(original, original.astype(float)) == 0.0


def test_volume_fraction_difference_counts_only_pixels_below_the_threshold():
    original = blank(8)
    original[0, :4] = 0
    recon = np.ones((8, 8))
    recon[0, :4] = 0.05                        # exactly the threshold: background (eq. 2)
    assert volume_fraction_difference(original, recon) == 100.0
    assert volume_fraction_difference(original, recon, threshold=0.06) == 0.0


def test_volume_fraction_difference_validates():
    with pytest.raises(ValueError, match="no line pixels"):
        volume_fraction_difference(blank(8), np.zeros((8, 8)))
    with pytest.raises(ValueError, match="same shape"):
        volume_fraction_difference(blank(8), np.zeros((8, 9)))
    with pytest.raises(ValueError, match="binary"):
        volume_fraction_difference(np.full((8, 8), 0.3), np.zeros((8, 8)))


def test_volume_fraction_differences_batch_matches_pairs():
    images, _ = generate_lines(6, size=32, seed=3)
    recon = np.random.default_rng(0).random(images.shape)
    batch = volume_fraction_differences(torch.tensor(images)[:, None], recon[:, None])
    assert batch.tolist() == [volume_fraction_difference(o, r) for o, r in zip(images, recon)]


# ----------------------------------------------------------------------------- line counting

def test_min_line_area_uses_the_generators_smallest_line():
    assert min_line_area(224) == 112 * 5
    assert min_line_area(64) == 32 * line_thickness_range(64)[0]


def test_count_and_orientation_on_hand_built_images():
    image = blank()
    assert (count_lines(image), line_orientation(image)) == (0, "none")
    image[5:50, 10:13] = 0
    assert (count_lines(image), line_orientation(image)) == (1, "vertical")
    image[20:60, 30:31] = 0
    image[0:40, 40:42] = 0
    assert (count_lines(image), line_orientation(image)) == (3, "vertical")
    assert (count_lines(image.T), line_orientation(image.T)) == (3, "horizontal")
    assert count_lines(torch.tensor(image, dtype=torch.float32)[None]) == 3


def test_count_lines_validates():
    with pytest.raises(ValueError, match="binary"):
        count_lines(np.full((16, 16), 0.5))
    with pytest.raises(ValueError, match=r"\(H, W\)"):
        count_lines(np.ones((2, 16, 16)))


@pytest.mark.parametrize("size", [64, 224])
@pytest.mark.parametrize("lines", [(1, 5), (3, 7)])
def test_counts_agree_with_generator_labels(size, lines):
    n = 300 if size == 64 else 120
    images, labels = generate_lines(n, size=size, min_lines=lines[0], max_lines=lines[1], seed=11)
    summary = lines_summary(images)
    assert (summary.n_lines.to_numpy() == labels.n_lines.to_numpy()).mean() >= 0.995
    assert (summary.orientation.to_numpy() == labels.orientation.to_numpy()).mean() >= 0.995


def add_speckle(image: np.ndarray, rng: np.random.Generator, density: float) -> np.ndarray:
    """Isolated line pixels in the background and background holes inside lines."""
    out = image.copy()
    flip = rng.random(image.shape) < density
    out[flip] = 1 - out[flip]
    return out


def ragged(image: np.ndarray, rng: np.random.Generator, erode: bool) -> np.ndarray:
    """Grow lines by a pixel at random on their top and left edges (so that the generator's
    gap of >= 2 px never closes); with ``erode`` also bite pixels off any edge."""
    line = image == 0
    neighbour = np.zeros_like(line)
    neighbour[:-1] |= line[1:]
    neighbour[:, :-1] |= line[:, 1:]
    grow = neighbour & ~line & (rng.random(line.shape) < 0.5)
    out = image.copy()
    out[grow] = 0
    if erode:
        edge = line & ~(np.roll(line, 1, 0) & np.roll(line, -1, 0) & np.roll(line, 1, 1) & np.roll(line, -1, 1))
        out[edge & (rng.random(line.shape) < 0.5)] = 1
    return out


def cut_gaps(image: np.ndarray, rng: np.random.Generator, n_gaps: int) -> np.ndarray:
    """Cut every line across with ``n_gaps`` one-pixel-wide gaps at random places along it."""
    out = image.copy()
    labelled, _ = ndimage.label(image == 0)
    for rows, cols in ndimage.find_objects(labelled):
        vertical = rows.stop - rows.start > cols.stop - cols.start
        along = rows if vertical else cols
        for p in rng.integers(along.start, along.stop, size=n_gaps):
            if vertical:
                out[p, cols] = 1
            else:
                out[rows, p] = 1
    return out


@pytest.mark.parametrize("size", [64, 224])
def test_counts_survive_speckle_ragged_edges_and_gaps(size):
    images, labels = generate_lines(60, size=size, seed=5)
    rng = np.random.default_rng(0)
    truth_n, truth_o = labels.n_lines.to_numpy(), labels.orientation.to_numpy()
    corrupted = {
        "speckle": [add_speckle(im, rng, 0.003) for im in images],
        "ragged": [ragged(im, rng, erode=size >= 128) for im in images],
        "gaps": [cut_gaps(im, rng, 2) for im in images],
        "all": [add_speckle(cut_gaps(ragged(im, rng, erode=size >= 128), rng, 1), rng, 0.002) for im in images],
    }
    for name, batch in corrupted.items():
        summary = lines_summary(np.stack(batch))
        assert (summary.n_lines.to_numpy() == truth_n).mean() >= 0.98, name
        assert (summary.orientation.to_numpy() == truth_o).mean() >= 0.98, name
    # the corruptions really broke the images into more components than lines
    pieces = [ndimage.label(im == 0, structure=np.ones((3, 3)))[1] for im in corrupted["all"]]
    assert np.mean(np.array(pieces) > truth_n) > 0.9


def test_one_pixel_gap_keeps_one_line_and_parallel_lines_stay_apart():
    image = blank(64)
    image[4:60, 20:22] = 0
    image[30, :] = 1                                       # one-pixel gap across the line
    assert count_lines(image) == 1
    gap = line_gap(64)
    image[4:60, 22 + gap:24 + gap] = 0                     # a second line, the minimum gap apart
    assert count_lines(image) == 2


def test_specks_alone_are_not_lines():
    image = blank(64)
    image[10, 10] = image[40, 50] = 0
    image[20:22, 30:32] = 0
    assert (count_lines(image), line_orientation(image)) == (0, "none")


@SETTINGS
@given(arrays(np.uint8, st.tuples(st.integers(8, 40), st.integers(8, 40)), elements=st.integers(0, 1)))
def test_transposing_swaps_orientation_and_keeps_the_count(image):
    o, o_t = line_orientation(image), line_orientation(image.T)
    assume(o != o_t or o == "none")                       # ties call both "vertical"
    if o != "none":
        assert {o, o_t} == {"vertical", "horizontal"}
    assert count_lines(image) == count_lines(image.T)


# ----------------------------------------------------------------------------- MSEs

def test_mse_known_answers():
    zeros, ones = np.zeros((6, 6)), np.ones((6, 6))
    assert data_mse(zeros, ones) == 1.0
    assert data_mse(zeros, np.full((6, 6), 0.5)) == 0.25
    c = math.exp(-8.0)                                    # indicator of a white pixel, eps = 0.25
    assert spatial_stats_mse(zeros, ones) == pytest.approx((1 - c * c) ** 2, rel=1e-12)
    assert spatial_stats_mse(ones, ones) == 0.0


def test_mse_validates_shapes():
    with pytest.raises(ValueError, match="same shape"):
        data_mse(np.zeros((4, 4)), np.zeros((4, 5)))
    with pytest.raises(ValueError, match="same shape"):
        spatial_stats_mse_batch(np.zeros((2, 4, 4)), np.zeros((3, 4, 4)))


grey = arrays(np.float64, (2, 7, 9), elements=st.floats(0, 1))


@SETTINGS
@given(grey, st.integers(0, 6), st.integers(0, 8))
def test_mse_symmetric_and_stats_mse_blind_to_circular_shifts(pair, dy, dx):
    a, b = pair
    assert data_mse(a, b) == data_mse(b, a)
    assert spatial_stats_mse(a, b) == pytest.approx(spatial_stats_mse(b, a), rel=1e-12, abs=1e-300)
    assert spatial_stats_mse(a, np.roll(a, (dy, dx), axis=(0, 1))) < 1e-24


@SETTINGS
@given(arrays(np.float64, (3, 5, 6), elements=st.floats(0, 1)), arrays(np.float64, (3, 5, 6), elements=st.floats(0, 1)))
def test_batched_mse_equal_pairwise(a, b):
    ta = torch.tensor(a, dtype=torch.float32)
    np.testing.assert_allclose(data_mse_batch(a, b), [data_mse(x, y) for x, y in zip(a, b)], rtol=1e-12)
    np.testing.assert_allclose(spatial_stats_mse_batch(ta[:, None], b, batch_size=2),
                               [spatial_stats_mse(x, y) for x, y in zip(ta, b)], rtol=1e-9, atol=1e-24)
    # (atol: two images that are translates of each other have equal statistics, whose MSE is FFT
    # rounding noise, ~1e-36, computed in another order one image at a time than in a batch)
