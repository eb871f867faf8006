"""utils.inverse.fields: the start of reconstruction from statistics, a thresholded Gaussian random field."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from scipy.stats import multivariate_normal, norm

from utils.inverse.fields import (WIDTHS, _gaussian_transfer, difference_rate, field_widths, first_offsets,
                                  lag_one_correlation, thresholded_field)
from utils.statistics.two_point import autocorrelation


@given(phi=st.floats(0.05, 0.95), rho=st.floats(-0.9, 0.99))
@settings(max_examples=25, deadline=None)
def test_the_difference_rate_is_the_bivariate_normal_probability(phi, rho):
    level = norm.ppf(phi)
    both_below = multivariate_normal(mean=[0, 0], cov=[[1, rho], [rho, 1]]).cdf([level, level])
    assert difference_rate(np.array(phi), np.array(rho)) == pytest.approx(2 * (phi - both_below), abs=2e-5)


def test_the_lag_one_correlation_is_that_of_the_filtered_noise():
    rng = np.random.default_rng(0)
    noise = rng.standard_normal((400, 128))
    field = np.fft.ifft(np.fft.fft(noise, axis=1) * _gaussian_transfer(128, np.array([2.0]))[0], axis=1).real
    measured = np.mean(field * np.roll(field, 1, axis=1)) / np.mean(field * field)
    assert measured == pytest.approx(lag_one_correlation(np.array([2.0]), 128)[0], abs=0.01)


@pytest.mark.parametrize("phi, rate", [(0.3, 0.05), (0.5, 0.2), (0.9, 0.04)])
def test_a_start_has_the_targets_phase_fraction_exactly_and_its_interfaces_on_average(phi, rate):
    starts = thresholded_field(np.full(24, phi), np.full(24, rate), np.full(24, rate), (64, 64), seed=1)
    assert ((starts == 0).mean(axis=(1, 2)) == round(phi * 64 * 64) / 64 ** 2).all()
    b = starts == 0
    measured = (np.mean(b[:, 1:] != b[:, :-1]) + np.mean(b[:, :, 1:] != b[:, :, :-1])) / 2
    assert measured == pytest.approx(rate, rel=0.12)


def test_an_anisotropic_target_gets_an_anisotropic_start():
    start = thresholded_field(np.array([0.5]), np.array([0.04]), np.array([0.3]), (64, 64), seed=0)[0] == 0
    along_y, along_x = np.mean(start[1:] != start[:-1]), np.mean(start[:, 1:] != start[:, :-1])
    assert along_x > 3 * along_y
    assert field_widths(np.array([0.5]), np.array([0.04]), 64)[0] > field_widths(np.array([0.5]), np.array([0.3]), 64)[0]


def test_starts_are_seeded_and_do_not_depend_on_the_batch():
    phi, rate = np.array([0.2, 0.4, 0.6]), np.array([0.1, 0.1, 0.1])
    a = thresholded_field(phi, rate, rate, (32, 32), seed=3)
    b = thresholded_field(phi[1:], rate[1:], rate[1:], (32, 32), seed=3, offset=1)
    assert a.tobytes() == thresholded_field(phi, rate, rate, (32, 32), seed=3).tobytes()
    assert a[1:].tobytes() == b.tobytes()
    assert np.abs(thresholded_field(phi, rate, rate, (32, 32), seed=4) - a).max() == 1


def test_rates_beyond_the_ladder_are_clipped_and_single_phases_refused():
    widths = field_widths(np.array([0.5, 0.5]), np.array([2.0, 0.0]), 64)
    assert widths.tolist() == [WIDTHS[0], WIDTHS[-1]]
    with pytest.raises(ValueError, match="single-phase"):
        thresholded_field(np.array([1.0]), np.array([0.1]), np.array([0.1]), (16, 16))


def test_first_offsets_read_the_rates_of_a_binary_image():
    image = np.zeros((1, 16, 16)); image[:, :, ::4] = 1            # columns of phase 1 every 4 px
    f = autocorrelation(torch.as_tensor(image == 0, dtype=torch.float64))     # periodic: the identity is exact
    phi, rate_y, rate_x = first_offsets(f)
    b = image[0] == 0
    assert phi[0] == pytest.approx(0.75)
    assert rate_y[0] == pytest.approx(0.0, abs=1e-12)
    assert rate_x[0] == pytest.approx(np.mean(b != np.roll(b, 1, axis=1)))


def test_a_targets_starts_do_not_depend_on_how_many_restarts_there_are():
    phi, rate = np.array([0.3, 0.3, 0.6, 0.6]), np.full(4, 0.1)
    two = thresholded_field(phi, rate, rate, (32, 32), seed=2, restarts=2)
    one = thresholded_field(phi[::2], rate[::2], rate[::2], (32, 32), seed=2)
    assert two[::2].tobytes() == one.tobytes() and np.abs(two[0] - two[1]).max() == 1
    with pytest.raises(ValueError, match="seed must be an integer >= 0"):
        thresholded_field(phi, rate, rate, (8, 8), seed=-1)
