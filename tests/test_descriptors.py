"""utils.statistics.descriptors: interfaces, chords and clusters, against shapes with a known answer."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from utils.statistics.descriptors import (DESCRIPTORS, angle_difference, chord_lengths, describe, descriptor_ratios,
                                         interface_density, orientation)


def disc(size: int, radius: float) -> np.ndarray:
    y, x = np.mgrid[:size, :size] - (size - 1) / 2
    return np.where(x ** 2 + y ** 2 <= radius ** 2, 0.0, 1.0)          # phase 0 inside


def test_a_single_disc_is_one_cluster_in_one_matrix_with_its_perimeter():
    d = describe(disc(64, 12)[None]).iloc[0]
    assert d["clusters0"] == pytest.approx(1000 / 64 ** 2) and d["clusters1"] == pytest.approx(1000 / 64 ** 2)
    perimeter = 2 * np.pi * 12
    pairs = 64 * 63
    # a digital circle crosses rows and columns 4 r times; along x and y together about the Euclidean length x 4/pi
    assert d["interface_density"] * 2 * pairs == pytest.approx(perimeter * 4 / np.pi, rel=0.05)
    # the mean chord of a disc along a line through it: area / (2 r) = pi r / 2
    assert d["chord0_x"] == pytest.approx(np.pi * 12 / 2, rel=0.05)
    assert d["phase_fraction"] == pytest.approx(np.pi * 144 / 64 ** 2, rel=0.03)


def test_stripes_have_their_width_as_chord_and_no_interface_across():
    image = np.tile(np.array([0.0] * 3 + [1.0] * 5), (16, 4))             # 16 x 32, 3-px stripes of phase 0
    d = describe(image[None]).iloc[0]
    assert (d["chord0_x"], d["chord1_x"], d["chord0_y"], d["chord1_y"]) == (3.0, 5.0, 16.0, 16.0)
    assert d["interface_y"] == 0 and d["interface_x"] == pytest.approx(7 / 31)
    assert d["clusters0"] == pytest.approx(1000 * 4 / (16 * 32))


@given(arrays(np.bool_, st.tuples(st.integers(1, 9), st.integers(1, 9))))
@settings(max_examples=60, deadline=None)
def test_chords_and_interfaces_agree_with_a_direct_count(b):
    ones, zeros = chord_lengths(b)
    assert ones.sum() == b.sum() and zeros.sum() == (~b).sum()
    runs = sum(1 + int(np.sum(row[1:] != row[:-1])) for row in b)
    assert len(ones) + len(zeros) == runs
    direct = np.mean([row[i] != row[i + 1] for row in b for i in range(len(row) - 1)]) if b.shape[1] > 1 else 0.0
    assert interface_density(b[None], axis=2)[0] == pytest.approx(direct)


def test_ratios_are_per_material_and_need_matching_rows():
    original = pd.DataFrame({c: [1.0, 2.0, 4.0] for c in DESCRIPTORS})
    candidate = original * 2
    ratios = descriptor_ratios(candidate, original, ["a", "a", "b"])
    assert ratios.index.tolist() == ["a", "b"] and np.allclose(ratios.to_numpy(), 2.0)
    with pytest.raises(ValueError, match="same images"):
        descriptor_ratios(candidate.iloc[:2], original, ["a", "a", "b"])


def test_bad_images_are_refused():
    with pytest.raises(ValueError, match="NaN"):
        describe(np.full((1, 4, 4), np.nan))
    with pytest.raises(ValueError, match="empty"):
        describe(np.zeros((0, 4, 4)))


@pytest.mark.parametrize("stripes, angle", [(lambda y, x: x, 90.0), (lambda y, x: y, 0.0),
                                            (lambda y, x: x - y, 45.0), (lambda y, x: x + y, 135.0)])
def test_the_direction_of_stripes_is_where_they_run(stripes, angle):
    """Stripes 3 px wide whose phase changes with ``stripes(y, x)`` run where it is constant (y down, x right)."""
    y, x = np.mgrid[:48, :48]
    found, coherence = orientation((stripes(y, x) // 3 % 2).astype(float)[None])
    assert angle_difference(found, np.array([angle]))[0] < 1e-6 and coherence[0] > 0.9


def test_a_texture_without_a_direction_has_a_low_coherence_and_turning_it_turns_its_angle():
    rng = np.random.default_rng(0)
    blobs = (rng.random((64, 64)) < 0.5).astype(float)
    assert orientation(blobs[None])[1][0] < 0.1
    stretched = np.repeat(rng.random((64, 8)) < 0.5, 8, axis=1).astype(float)        # runs along x
    (along_x, along_y), _ = orientation(np.stack([stretched, stretched.T]))
    assert angle_difference(np.array([along_x]), np.array([0.0]))[0] < 10
    assert angle_difference(np.array([along_y]), np.array([90.0]))[0] < 10
    assert np.isnan(orientation(np.ones((1, 8, 8)))[0][0])                             # no interface, no direction


@given(st.floats(-720, 720), st.floats(-720, 720))
def test_angle_differences_are_symmetric_and_at_most_a_right_angle(a, b):
    d = angle_difference(np.array([a]), np.array([b]))[0]
    assert 0 <= d <= 90 + 1e-9 and abs(d - angle_difference(np.array([b]), np.array([a]))[0]) < 1e-9
