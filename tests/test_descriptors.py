"""utils.statistics.descriptors: interfaces, chords and clusters, against shapes with a known answer."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from utils.statistics.descriptors import DESCRIPTORS, chord_lengths, describe, descriptor_ratios, interface_density


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
