"""Profiles of statistics maps and the synthetic microstructures, against direct computation."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from utils.data.synthetic import (disc_two_point, gaussian_blobs, overlapping_discs, overlapping_spheres,
                                  sphere_two_point)
from utils.statistics.maps import (correlation_length, cutoff_window, directional_profiles, phase_correlations,
                                   radial_profile)
from utils.statistics.two_point import autocorrelation, cross_correlation

sides = st.integers(3, 12)


def _value_at(f: np.ndarray, ry: int, rx: int) -> float:
    """f(r) read by its definition of the layout: r = 0 at (H // 2, W // 2), r_y down, r_x right."""
    h, w = f.shape
    return float(f[h // 2 + ry, w // 2 + rx])


@settings(max_examples=40, deadline=None)
@given(h=sides, w=sides, seed=st.integers(0, 999))
def test_cutoff_window_holds_exactly_the_offsets_up_to_c(h, w, seed):
    f = np.random.default_rng(seed).random((h, w))
    c = min((h - 1) // 2, (w - 1) // 2)
    window = cutoff_window(torch.as_tensor(f), c).numpy()
    for ry in range(-c, c + 1):
        for rx in range(-c, c + 1):
            assert window[c + ry, c + rx] == _value_at(f, ry, rx)


@settings(max_examples=40, deadline=None)
@given(h=sides, w=sides, seed=st.integers(0, 999))
def test_radial_profile_is_the_mean_over_each_ring_of_all_four_quadrants(h, w, seed):
    f = np.random.default_rng(seed).random((2, h, w))
    k, got = radial_profile(torch.as_tensor(f))
    for d in k.tolist():
        ring = [_value_at(f[1], ry, rx) for ry in range(-(h // 2), h - h // 2) for rx in range(-(w // 2), w - w // 2)
                if round(math.hypot(ry, rx)) == d]
        assert got[1, d].item() == pytest.approx(np.mean(ring))


@settings(max_examples=40, deadline=None)
@given(h=sides, w=sides, seed=st.integers(0, 999))
def test_directional_profiles_average_both_half_lines_of_an_asymmetric_cross_correlation(h, w, seed):
    rng = np.random.default_rng(seed)
    a, b = (torch.as_tensor((rng.random((h, w)) < 0.5).astype(np.float64)) for _ in range(2))
    f = cross_correlation(a, b, periodic=False).numpy()      # not symmetric: f(r) != f(-r)
    got = directional_profiles(torch.as_tensor(f))
    for name, (dy, dx) in {"x": (0, 1), "y": (1, 0), "diagonal": (1, 1), "antidiagonal": (1, -1)}.items():
        for k, value in enumerate(got[name].tolist()):
            assert value == pytest.approx((_value_at(f, dy * k, dx * k) + _value_at(f, -dy * k, -dx * k)) / 2)


def test_windows_and_profiles_refuse_what_does_not_fit():
    with pytest.raises(ValueError, match="cutoff must lie in 0..3"):
        cutoff_window(torch.zeros(8, 8), 4)
    with pytest.raises(ValueError, match="max_distance must lie in 0..3"):
        radial_profile(torch.zeros(8, 8), 5)


@pytest.mark.parametrize("radius, matrix_fraction, size, n", [(6, 0.6, 128, 8), (4, 0.7, 128, 8)])
def test_overlapping_discs_follow_the_closed_form_two_point_function(radius, matrix_fraction, size, n):
    images = overlapping_discs(n, size, radius=radius, matrix_fraction=matrix_fraction, seed=0)
    f = autocorrelation(torch.as_tensor((images == 0).astype(np.float64))).mean(0)
    k, measured = radial_profile(f, 3 * radius)
    exact = disc_two_point(k.numpy().astype(float), radius=radius, matrix_fraction=matrix_fraction)
    # sampling error of 8 seeded images and pixelated discs: 0.0045 and 0.0050 measured here
    np.testing.assert_allclose(measured.numpy(), exact, atol=0.008)
    assert exact[0] == pytest.approx(1 - matrix_fraction) and exact[-1] == pytest.approx((1 - matrix_fraction) ** 2)


def test_the_closed_form_is_the_lens_area_formula():
    R, p = 3.0, 0.5
    lam = -math.log(p) / (math.pi * R ** 2)
    r = 2.0                 # lens of two unit-R discs at distance r, by numerical integration
    ys, xs = np.meshgrid(np.linspace(-R, R + r, 1201), np.linspace(-R, R, 1201), indexing="ij")
    cell = (R + r + R) / 1200 * (2 * R) / 1200
    lens = (((xs ** 2 + ys ** 2) <= R ** 2) & ((xs ** 2 + (ys - r) ** 2) <= R ** 2)).sum() * cell
    expected = 1 - 2 * p + math.exp(-lam * (2 * math.pi * R ** 2 - lens))
    assert disc_two_point(np.array(r), radius=R, matrix_fraction=p) == pytest.approx(expected, abs=1e-3)


def test_every_plane_of_overlapping_spheres_follows_the_closed_form_and_the_lens_is_the_intersection():
    radius, p = 4, 0.75
    volume = overlapping_spheres(64, radius=radius, matrix_fraction=p, seed=0)
    m = torch.as_tensor((volume == 0).astype(np.float64))

    def normalised(f):                         # (f - phi²) / (phi - phi²): one volume's phase fraction set apart
        return (f - f[0] ** 2) / (f[0] - f[0] ** 2)

    exact = None
    for axis in range(3):                      # the sections across z, y and x: the same isotropic statistics
        k, measured = radial_profile(autocorrelation(m.movedim(axis, 0)).mean(0), 3 * radius)
        r = k.numpy().astype(float)
        exact = sphere_two_point(r, radius=radius, matrix_fraction=p)
        # voxelised spheres and one volume's sampling: 0.045-0.047 measured here; the discs' formula is 0.09-0.10 off
        np.testing.assert_allclose(normalised(measured.numpy()), normalised(exact), atol=0.06)
        discs = disc_two_point(r, radius=radius, matrix_fraction=p)
        assert np.abs(normalised(measured.numpy()) - normalised(discs)).max() > 0.08
    assert exact[0] == pytest.approx(1 - p) and exact[-1] == pytest.approx((1 - p) ** 2)
    R, r = 3.0, 2.0                            # the lens of two spheres at distance r, by counting grid points
    grid = np.linspace(-R, R + r, 161)
    zs, ys, xs = np.meshgrid(grid, grid, grid, indexing="ij")
    cell = (grid[1] - grid[0]) ** 3
    lens = (((zs ** 2 + ys ** 2 + xs ** 2) <= R ** 2) & ((zs ** 2 + ys ** 2 + (xs - r) ** 2) <= R ** 2)).sum() * cell
    lam = -math.log(0.5) / (4 / 3 * math.pi * R ** 3)
    expected = 1 - 2 * 0.5 + math.exp(-lam * (2 * 4 / 3 * math.pi * R ** 3 - lens))
    assert sphere_two_point(np.array(r), radius=R, matrix_fraction=0.5) == pytest.approx(expected, abs=2e-3)
    np.testing.assert_array_equal(overlapping_spheres(64, radius=radius, matrix_fraction=p, seed=0), volume)


def test_gaussian_blobs_take_the_fraction_and_stretch_along_the_wider_blur():
    images = gaussian_blobs(4, 64, fraction=0.3, sigma=(2, 6), seed=0)
    assert images.dtype == np.uint8 and abs((images == 0).mean() - 0.3) < 1e-3
    profiles = directional_profiles(autocorrelation(torch.as_tensor((images == 0).astype(np.float64))).mean(0))
    assert profiles["x"][4] > profiles["y"][4] + 0.05       # correlated further along x (sigma_x = 6)
    np.testing.assert_array_equal(gaussian_blobs(4, 64, fraction=0.3, sigma=(2, 6), seed=0), images)


def test_generators_refuse_impossible_settings():
    with pytest.raises(ValueError, match="matrix_fraction"):
        overlapping_discs(1, 32, radius=4, matrix_fraction=1.2)
    with pytest.raises(ValueError, match="radius"):
        overlapping_spheres(16, radius=9, matrix_fraction=0.5)
    with pytest.raises(ValueError, match="fraction"):
        gaussian_blobs(1, 32, fraction=0.0)


def test_phase_correlations_of_three_phases_sum_to_each_volume_fraction():
    labels = np.random.default_rng(0).integers(0, 3, (2, 16, 16))
    f = phase_correlations(labels, [0, 1, 2], periodic=True)
    assert sorted(f) == [(0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2)]
    for a in range(3):             # Σ_b f_ab(r) = φ_a at every offset (periodic), with f_ba(r) = f_ab(-r)
        total = sum(f[(a, b)] if a <= b else torch.flip(f[(b, a)], (-2, -1)).roll((1, 1), (-2, -1))
                    for b in range(3))
        phi = torch.as_tensor((labels == a).mean(axis=(1, 2)))[:, None, None]
        torch.testing.assert_close(total, phi.expand_as(total))
    with pytest.raises(ValueError, match=r"phases \[3\] do not occur"):
        phase_correlations(labels, [0, 3])


def direct_crossing(profile: list[float], level: float) -> float:
    """The first k with profile[k] <= level, linearly interpolated from k - 1, by a plain loop (inf: none)."""
    for k, value in enumerate(profile):
        if value <= level:
            return 0.0 if k == 0 else k - 1 + (profile[k - 1] - level) / (profile[k - 1] - value)
    return math.inf


def test_correlation_length_of_an_exponential_is_its_decay_length():
    k = np.arange(40)
    assert float(correlation_length(np.exp(-k / 5.0))) == pytest.approx(5.0, abs=0.05)
    assert float(correlation_length(np.ones(5))) == math.inf


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 7).flatmap(lambda k: st.lists(st.lists(st.floats(-1, 1), min_size=k, max_size=k), min_size=1,
                                                     max_size=4)), st.floats(0.05, 0.95))
def test_correlation_length_is_the_direct_crossing_of_each_profile_of_a_batch(rows, level):
    got = correlation_length(torch.tensor(rows, dtype=torch.float64), level=level)
    assert got.shape == (len(rows),)
    for value, row in zip(got.tolist(), rows):
        expected = direct_crossing(row, level)
        assert value == (pytest.approx(expected, abs=1e-9) if math.isfinite(expected) else math.inf)


def test_correlation_length_has_a_gradient_where_the_profile_crosses():
    profile = torch.tensor([[1.0, 0.6, 0.2], [1.0, 0.9, 0.8]], dtype=torch.float64, requires_grad=True)
    correlation_length(profile, level=0.4).sum().backward()
    # xi = 1 + (p1 - level) / (p1 - p2): d/dp1 = (level - p2) / (p1 - p2)², d/dp2 = (p1 - level) / (p1 - p2)²
    np.testing.assert_allclose(profile.grad[0].numpy(), [0.0, 0.2 / 0.16, 0.2 / 0.16])
    assert torch.equal(profile.grad[1], torch.zeros(3, dtype=torch.float64))      # never crosses: inf, no gradient
