"""Tests of utils.statistics.two_point against a direct O(S²) double sum, plus the identities the statistics obey.

The reference below is written from the definition and shares no code with utils.statistics.two_point:

    f12(r) = (1/S) Σ_x m1(x) m2(x + r)          periodic: x + r taken modulo the grid
    f12(r) = (1/N(r)) Σ_{x, x+r in image} ...    non-periodic: N(r) = number of such pairs

laid out with offset r = i - n // 2 at index i of every spatial axis.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import utils.statistics.spectral
from utils.statistics.spectral import (autocorrelation_spectrum, power_spectrum, spatial_statistics_sq_distance,
                                       spectral_weights, statistics_from_spectrum, statistics_sq_distance)
import utils.statistics.two_point
from utils.statistics.two_point import (autocorrelation, autocorrelation_by_direct_sum, cross_correlation,
                                        phase_indicator, spatial_statistics)

PROPERTY = settings(max_examples=40, deadline=None)
MAX_SIDE = {1: 12, 2: 7, 3: 4}  # largest side per spatial ndim, keeps the O(S²) reference fast


pytestmark = pytest.mark.usefixtures("one_thread")   # conftest: tiny tensors on one thread


# ---------------------------------------------------------------- the reference


def direct_correlation(m1: np.ndarray, m2: np.ndarray, ndim: int, periodic: bool) -> np.ndarray:
    """f12 by the double sum over offsets r and positions x, float64, leading dims vectorised."""
    m1, m2 = np.asarray(m1, dtype=np.float64), np.asarray(m2, dtype=np.float64)
    shape = m1.shape[-ndim:]
    out = np.zeros(m1.shape)
    for index in itertools.product(*(range(n) for n in shape)):
        offset = [i - n // 2 for i, n in zip(index, shape)]
        total, pairs = np.zeros(m1.shape[:-ndim]), 0
        for x in itertools.product(*(range(n) for n in shape)):
            y = [xi + ri for xi, ri in zip(x, offset)]
            if periodic:
                y = [yi % n for yi, n in zip(y, shape)]
            elif any(yi < 0 or yi >= n for yi, n in zip(y, shape)):
                continue
            total = total + m1[(..., *x)] * m2[(..., *y)]
            pairs += 1
        out[(..., *index)] = total / (math.prod(shape) if periodic else pairs)
    return out


def direct_indicator(x: np.ndarray, phase: float, eps: float) -> np.ndarray:
    return np.exp(-((np.asarray(x, dtype=np.float64) - phase) ** 2) / (2 * eps**2))


# ---------------------------------------------------------------- strategies


@st.composite
def images(draw, ndim: int | None = None, binary: bool = False, dtype: torch.dtype = torch.float64):
    """(tensor, ndim): leading dims 0-2 of size 1-3, spatial sides 1..MAX_SIDE (odd and even)."""
    ndim = draw(st.sampled_from([1, 2, 3])) if ndim is None else ndim
    lead = draw(st.lists(st.integers(1, 3), max_size=2))
    space = draw(st.lists(st.integers(1, MAX_SIDE[ndim]), min_size=ndim, max_size=ndim))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shape = (*lead, *space)
    if binary:
        values = rng.random(shape) < draw(st.floats(0.0, 1.0))
    else:
        values = rng.uniform(-0.5, 1.5, size=shape)
    return torch.as_tensor(values, dtype=dtype), ndim


def centre(t: torch.Tensor, ndim: int) -> torch.Tensor:
    """The r = 0 entry of every statistic in a batch: index n // 2 on each spatial axis."""
    return t[(..., *(n // 2 for n in t.shape[-ndim:]))]


# ---------------------------------------------------------------- against the direct sum


@PROPERTY
@given(images(), st.booleans())
def test_autocorrelation_matches_direct_sum(image_ndim, periodic):
    m, ndim = image_ndim
    got = autocorrelation(m, ndim=ndim, periodic=periodic)
    assert got.shape == m.shape and got.dtype == m.dtype
    np.testing.assert_allclose(got.numpy(), direct_correlation(m, m, ndim, periodic), rtol=1e-9, atol=1e-12)


@PROPERTY
@given(images(), st.booleans(), st.integers(0, 2**32 - 1))
def test_cross_correlation_matches_direct_sum(image_ndim, periodic, seed):
    m1, ndim = image_ndim
    m2 = torch.as_tensor(np.random.default_rng(seed).random(m1.shape))
    got = cross_correlation(m1, m2, ndim=ndim, periodic=periodic)
    assert got.shape == m1.shape
    np.testing.assert_allclose(got.numpy(), direct_correlation(m1, m2, ndim, periodic), rtol=1e-9, atol=1e-12)


@PROPERTY
@given(images(), st.booleans(), st.floats(-0.5, 1.0), st.floats(0.05, 1.0))
def test_spatial_statistics_is_autocorrelation_of_the_indicator(image_ndim, periodic, phase, eps):
    x, ndim = image_ndim
    got = spatial_statistics(x, phase=phase, eps=eps, ndim=ndim, periodic=periodic)
    m = direct_indicator(x.numpy(), phase, eps)
    np.testing.assert_allclose(got.numpy(), direct_correlation(m, m, ndim, periodic), rtol=1e-9, atol=1e-12)


@PROPERTY
@given(images(ndim=2, dtype=torch.float32), st.booleans())
def test_float32_is_close_to_the_float64_direct_sum(image_ndim, periodic):
    x, ndim = image_ndim
    got = spatial_statistics(x, ndim=ndim, periodic=periodic)
    assert got.dtype == torch.float32
    m = direct_indicator(x.numpy(), 0.0, 0.25)
    np.testing.assert_allclose(got.numpy(), direct_correlation(m, m, ndim, periodic), rtol=1e-4, atol=1e-6)


def test_zero_offset_sits_at_index_n_over_2_for_odd_and_even_sizes():
    # a single pixel pair at distance +1 along the last axis: only r = 0 and r = ±1 are non-zero
    for n in (4, 5):
        m = torch.zeros(n, dtype=torch.float64)
        m[1] = m[2] = 1.0
        f = autocorrelation(m, ndim=1)
        expected = np.zeros(n)
        expected[n // 2] = 2 / n
        expected[n // 2 - 1] = expected[n // 2 + 1] = 1 / n
        if n == 4:  # r = -2 would sit at index 0 and is 0 here
            assert f[0] == 0
        np.testing.assert_allclose(f.numpy(), expected, atol=1e-15)


def test_non_contiguous_input_gives_the_same_result():
    x = torch.rand(3, 6, 5, dtype=torch.float64)
    xt = x.transpose(-1, -2)  # (3, 5, 6), not contiguous
    expected = direct_correlation(xt.numpy(), xt.numpy(), 2, True)
    np.testing.assert_allclose(autocorrelation(xt).numpy(), expected, rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------- identities


@PROPERTY
@given(images(binary=True), st.booleans())
def test_centre_equals_volume_fraction_of_a_binary_image(image_ndim, periodic):
    m, ndim = image_ndim
    f = autocorrelation(m, ndim=ndim, periodic=periodic)
    volume_fraction = m.mean(dim=tuple(range(-ndim, 0)))
    torch.testing.assert_close(centre(f, ndim), volume_fraction, rtol=0, atol=1e-12)


@PROPERTY
@given(images(), st.data())
def test_periodic_statistics_are_translation_invariant(image_ndim, data):
    x, ndim = image_ndim
    shifts = [data.draw(st.integers(-n, n)) for n in x.shape[-ndim:]]
    moved = torch.roll(x, shifts=shifts, dims=tuple(range(-ndim, 0)))
    torch.testing.assert_close(spatial_statistics(moved, ndim=ndim), spatial_statistics(x, ndim=ndim),
                               rtol=0, atol=1e-12)
    torch.testing.assert_close(autocorrelation(moved, ndim=ndim), autocorrelation(x, ndim=ndim),
                               rtol=0, atol=1e-12)


@PROPERTY
@given(images(), st.booleans(), st.integers(0, 2**32 - 1))
def test_statistics_are_symmetric_in_r(image_ndim, periodic, seed):
    """f(r) = f(-r), and f12(r) = f21(-r): index n//2 + k against n//2 - k where both exist."""
    m, ndim = image_ndim
    other = torch.as_tensor(np.random.default_rng(seed).random(m.shape))
    f = autocorrelation(m, ndim=ndim, periodic=periodic).numpy()
    f12 = cross_correlation(m, other, ndim=ndim, periodic=periodic).numpy()
    f21 = cross_correlation(other, m, ndim=ndim, periodic=periodic).numpy()
    shape = m.shape[-ndim:]
    for index in itertools.product(*(range(n) for n in shape)):
        mirror = tuple(2 * (n // 2) - i for i, n in zip(index, shape))
        if all(0 <= j < n for j, n in zip(mirror, shape)):
            np.testing.assert_allclose(f[(..., *index)], f[(..., *mirror)], rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(f12[(..., *index)], f21[(..., *mirror)], rtol=1e-9, atol=1e-12)


@PROPERTY
@given(images())
def test_periodic_sum_over_offsets_is_squared_mass_over_s(image_ndim):
    m, ndim = image_ndim
    dims = tuple(range(-ndim, 0))
    size = math.prod(m.shape[-ndim:])
    total = autocorrelation(m, ndim=ndim).sum(dim=dims)
    torch.testing.assert_close(total, m.sum(dim=dims) ** 2 / size, rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- the soft indicator


def test_phase_indicator_values():
    x = torch.tensor([0.0, 1.0, 0.5, -0.25], dtype=torch.float64)
    m = phase_indicator(x)
    assert m[0] == 1.0
    assert math.isclose(m[1].item(), math.exp(-8.0), rel_tol=1e-12)  # a white pixel, eps 0.25
    assert math.isclose(m[2].item(), math.exp(-2.0), rel_tol=1e-12)
    assert math.isclose(m[3].item(), math.exp(-0.5), rel_tol=1e-12)
    assert phase_indicator(torch.tensor([0.7]), phase=0.7, eps=0.1).item() == 1.0


@PROPERTY
@given(st.lists(st.floats(-3, 3), min_size=1, max_size=20), st.floats(-1, 1), st.floats(0.01, 2))
def test_phase_indicator_matches_its_formula(values, phase, eps):
    x = torch.tensor(values, dtype=torch.float64)
    np.testing.assert_allclose(phase_indicator(x, phase, eps).numpy(), direct_indicator(values, phase, eps),
                               rtol=1e-12, atol=1e-300)


# ---------------------------------------------------------------- gradients


@pytest.mark.parametrize("periodic", [True, False])
@pytest.mark.parametrize("shape, ndim", [((2, 5, 4), 2), ((3, 7), 1), ((1, 3, 4, 3), 3), ((4, 4), 2)])
def test_gradcheck(shape, ndim, periodic):
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(shape, dtype=torch.float64, generator=gen, requires_grad=True)
    y = torch.rand(shape, dtype=torch.float64, generator=gen, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a: autocorrelation(a, ndim=ndim, periodic=periodic), (x,))
    assert torch.autograd.gradcheck(lambda a, b: cross_correlation(a, b, ndim=ndim, periodic=periodic), (x, y))
    assert torch.autograd.gradcheck(
        lambda a: spatial_statistics(a, phase=0.2, eps=0.3, ndim=ndim, periodic=periodic), (x,))
    assert torch.autograd.gradcheck(lambda a: spatial_statistics(a, ndim=ndim, periodic=periodic), (x,))


def rolled_statistics(x: torch.Tensor, phase: float, eps: float) -> torch.Tensor:
    """Periodic 2D statistics by an O(S²) sum of rolls, differentiated by plain autograd."""
    m = torch.exp(-((x - phase) ** 2) / (2 * eps**2))
    h, w = x.shape[-2:]
    rows = []
    for i in range(h):
        rows.append(torch.stack([(m * torch.roll(m, (-(i - h // 2), -(j - w // 2)), (-2, -1))).mean((-2, -1))
                                 for j in range(w)], dim=-1))
    return torch.stack(rows, dim=-2)


@pytest.mark.parametrize("shape", [(2, 1, 6, 8), (3, 5, 7)])
def test_loss_gradient_matches_autograd_of_the_direct_sum(shape):
    """The hand-written backward against autograd through the direct sum, for a summed-squares loss
    (its upstream gradient is dense) and a plain .sum() (an expanded, stride-0 upstream gradient)."""
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(shape, dtype=torch.float64, generator=gen, requires_grad=True)
    target = torch.rand(shape, dtype=torch.float64, generator=gen)
    for loss_of in (lambda f: ((f - target) ** 2).sum(), lambda f: f.sum()):
        (ours,) = torch.autograd.grad(loss_of(spatial_statistics(x, phase=0.1, eps=0.25)), x)
        (ref,) = torch.autograd.grad(loss_of(rolled_statistics(x, 0.1, 0.25)), x)
        torch.testing.assert_close(ours, ref, rtol=1e-9, atol=1e-12)


def test_double_backward_is_refused_on_the_fast_path():
    x = torch.rand(4, 4, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(spatial_statistics(x).square().sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="once_differentiable|twice"):
        grad.sum().backward()


# ---------------------------------------------------------------- Fourier space (Parseval)


def test_spectral_weights_count_the_frequencies_each_column_stands_for():
    for n in range(1, 9):
        w = spectral_weights((3, n))
        assert w.shape == (n // 2 + 1,) and w.dtype == torch.float64
        assert w.sum().item() == n            # the half spectrum's columns stand for all n frequencies
        assert w[0] == 1 and (w[-1] == 1 if n % 2 == 0 else w[-1] == (1 if n == 1 else 2))
    assert spectral_weights((4,), dtype=torch.float32).dtype == torch.float32
    with pytest.raises(ValueError, match="last side"):
        spectral_weights((3, 0))


@PROPERTY
@given(images())
def test_spectrum_gives_the_statistics_back(image_ndim):
    """statistics_from_spectrum(power_spectrum(x)) = f = the direct sum, odd and even sides, any ndim."""
    x, ndim = image_ndim
    shape = tuple(x.shape[-ndim:])
    p = power_spectrum(x, ndim=ndim)
    assert p.shape == (*x.shape[:-1], shape[-1] // 2 + 1) and p.dtype == x.dtype and (p >= 0).all()
    m = direct_indicator(x.numpy(), 0.0, 0.25)
    np.testing.assert_allclose(statistics_from_spectrum(p, shape).numpy(), direct_correlation(m, m, ndim, True),
                               rtol=1e-9, atol=1e-12)
    m_t = torch.as_tensor(m)
    np.testing.assert_allclose(statistics_from_spectrum(autocorrelation_spectrum(m_t, ndim=ndim), shape).numpy(),
                               autocorrelation(m_t, ndim=ndim).numpy(), rtol=1e-9, atol=1e-12)


@PROPERTY
@given(images(), st.integers(0, 2**32 - 1), st.floats(-0.5, 1.0), st.floats(0.05, 1.0))
def test_parseval_distance_equals_the_real_space_sum(image_ndim, seed, phase, eps):
    """Σ_r (f1 - f2)² from the half spectra = the same sum over the direct real-space statistics."""
    x1, ndim = image_ndim
    x2 = torch.as_tensor(np.random.default_rng(seed).uniform(-0.5, 1.5, x1.shape))
    shape = tuple(x1.shape[-ndim:])
    dims = tuple(range(-ndim, 0))
    f1, f2 = (direct_correlation(m, m, ndim, True) for m in (direct_indicator(x.numpy(), phase, eps) for x in (x1, x2)))
    expected = ((f1 - f2) ** 2).sum(axis=dims)
    p1, p2 = (power_spectrum(x, phase=phase, eps=eps, ndim=ndim) for x in (x1, x2))
    got = statistics_sq_distance(p1, p2, shape)
    assert got.shape == x1.shape[:-ndim]
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(statistics_sq_distance(p1, p2, shape, reduction="mean").numpy(),
                               expected / math.prod(shape), rtol=1e-9, atol=1e-15)
    # the fused path: x against a target given by its spectrum
    fused = spatial_statistics_sq_distance(x1, p2, phase=phase, eps=eps, ndim=ndim)
    np.testing.assert_allclose(fused.numpy(), expected, rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("h, w", [(6, 8), (7, 5), (6, 5), (7, 8), (1, 4), (4, 1)])
def test_dividing_the_statistics_by_a_scale_divides_the_spectra(h, w):
    gen = torch.Generator().manual_seed(2)
    x1, x2 = (torch.rand(3, h, w, dtype=torch.float64, generator=gen) for _ in range(2))
    scale = 0.04
    f1, f2 = spatial_statistics(x1) / scale, spatial_statistics(x2) / scale
    expected = ((f1 - f2) ** 2).sum((-2, -1))
    p1, p2 = power_spectrum(x1) / scale, power_spectrum(x2) / scale
    torch.testing.assert_close(statistics_from_spectrum(p1, (h, w)), f1, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(statistics_sq_distance(p1, p2, (h, w)), expected, rtol=1e-10, atol=0)
    torch.testing.assert_close(spatial_statistics_sq_distance(x1, power_spectrum(x2)) / scale**2, expected,
                               rtol=1e-10, atol=0)


@pytest.mark.parametrize("shape, ndim", [((2, 1, 6, 8), 2), ((3, 5, 7), 2), ((2, 4, 5), 2), ((7,), 1),
                                         ((2, 3, 4, 3), 3), ((1, 1), 2)])
def test_fused_distance_gradient_equals_the_real_space_gradient(shape, ndim):
    """∂/∂x of Σ_r (f(x) - f_t)²: the one-irfftn backward against autograd through the real-space sum
    (and gradcheck, also with respect to the target's spectrum)."""
    gen = torch.Generator().manual_seed(3)
    x = torch.rand(shape, dtype=torch.float64, generator=gen, requires_grad=True)
    target = torch.rand(shape, dtype=torch.float64, generator=gen)
    p_t = power_spectrum(target, phase=0.1, eps=0.3, ndim=ndim)
    f_t = spatial_statistics(target, phase=0.1, eps=0.3, ndim=ndim)
    dims = tuple(range(-ndim, 0))
    upstream = torch.rand(shape[:-ndim], dtype=torch.float64, generator=gen)   # a per-item weighting
    fast = (spatial_statistics_sq_distance(x, p_t, phase=0.1, eps=0.3, ndim=ndim) * upstream).sum()
    real = (((spatial_statistics(x, phase=0.1, eps=0.3, ndim=ndim) - f_t) ** 2).sum(dims) * upstream).sum()
    torch.testing.assert_close(fast, real, rtol=1e-12, atol=1e-15)
    (g_fast,) = torch.autograd.grad(fast, x)
    (g_real,) = torch.autograd.grad(real, x)
    torch.testing.assert_close(g_fast, g_real, rtol=1e-9, atol=1e-14)
    if ndim == 2 and len(shape) == 4:          # also against the O(S²) direct sum of rolls (2D)
        (g_direct,) = torch.autograd.grad((((rolled_statistics(x, 0.1, 0.3) - f_t) ** 2).sum(dims) * upstream).sum(), x)
        torch.testing.assert_close(g_fast, g_direct, rtol=1e-9, atol=1e-14)
    p_t.requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda a, p: spatial_statistics_sq_distance(a, p, phase=0.1, eps=0.3, ndim=ndim), (x, p_t))
    assert torch.autograd.gradcheck(lambda a, p: statistics_sq_distance(a, p, shape[-ndim:]),
                                    (power_spectrum(x.detach(), ndim=ndim).requires_grad_(True), p_t))


@pytest.mark.parametrize("chunk_bytes", [1, 200, 1 << 20])
def test_fused_distance_backward_in_chunks_equals_one_batch(monkeypatch, chunk_bytes):
    """The CPU backward goes through the items in chunks of _CHUNK_BYTES of spectrum: any chunking
    (one item at a time, a few, all at once) gives the real-space gradient."""
    gen = torch.Generator().manual_seed(8)
    x = torch.rand(3, 2, 6, 7, dtype=torch.float64, generator=gen, requires_grad=True)
    target = torch.rand(3, 2, 6, 7, dtype=torch.float64, generator=gen)
    upstream = torch.rand(3, 2, dtype=torch.float64, generator=gen)
    monkeypatch.setattr(utils.statistics.spectral, "_CHUNK_BYTES", chunk_bytes)
    (fast,) = torch.autograd.grad((spatial_statistics_sq_distance(x, power_spectrum(target)) * upstream).sum(), x)
    real = ((((spatial_statistics(x) - spatial_statistics(target)) ** 2).sum((-2, -1))) * upstream).sum()
    (expected,) = torch.autograd.grad(real, x)
    torch.testing.assert_close(fast, expected, rtol=1e-9, atol=1e-14)
    xt = x.detach().transpose(-1, -2).requires_grad_(True)      # a non-contiguous input, odd-sided
    (fast_t,) = torch.autograd.grad(spatial_statistics_sq_distance(xt, power_spectrum(target.mT)).sum(), xt)
    (expected_t,) = torch.autograd.grad(((spatial_statistics(xt) - spatial_statistics(target.mT)) ** 2).sum(), xt)
    torch.testing.assert_close(fast_t, expected_t, rtol=1e-9, atol=1e-14)


def test_fused_distance_float32_matches_float64_and_needs_no_grad():
    gen = torch.Generator().manual_seed(4)
    x = torch.rand(4, 1, 32, 30, generator=gen)
    p_t = power_spectrum((torch.rand(4, 1, 32, 30, generator=gen) > 0.1).float())
    with torch.no_grad():
        got = spatial_statistics_sq_distance(x, p_t)
    assert got.dtype == torch.float32 and got.shape == (4, 1) and not got.requires_grad
    ref = spatial_statistics_sq_distance(x.double(), p_t.double())
    torch.testing.assert_close(got.double(), ref, rtol=1e-5, atol=0)
    with pytest.raises(RuntimeError, match="once_differentiable|twice"):
        xg = x.double().requires_grad_(True)
        loss = spatial_statistics_sq_distance(xg, p_t.double()).square().sum()   # a dense upstream gradient
        (grad,) = torch.autograd.grad(loss, xg, create_graph=True)
        grad.sum().backward()


def test_spectrum_shapes_are_checked():
    x = torch.rand(2, 6, 8)
    with pytest.raises(ValueError, match=r"expected \(2, 6, 5\)"):
        spatial_statistics_sq_distance(x, torch.rand(3, 6, 5))
    with pytest.raises(ValueError, match="half spectrum"):
        spatial_statistics_sq_distance(x, torch.rand(2, 6, 8))
    with pytest.raises(ValueError, match="half spectrum"):
        statistics_sq_distance(torch.rand(2, 6, 5), torch.rand(2, 6, 4), (6, 8))
    with pytest.raises(ValueError, match="real floating-point"):
        statistics_from_spectrum(torch.fft.rfft2(x), (6, 8))
    with pytest.raises(ValueError, match="reduction"):
        statistics_sq_distance(torch.rand(6, 5), torch.rand(6, 5), (6, 8), reduction="max")
    with pytest.raises(ValueError, match="eps"):
        spatial_statistics_sq_distance(x, power_spectrum(x), eps=0.0)
    with pytest.raises(ValueError, match="NaN or inf"):
        spatial_statistics_sq_distance(x / 0.0, power_spectrum(x))


# ---------------------------------------------------------------- doctest and bad inputs


@pytest.mark.parametrize("shape", [(5, 7), (6, 6), (1, 4)])
def test_the_direct_sum_of_the_notebook_equals_the_reference_and_the_fft(shape):
    m = np.random.default_rng(sum(shape)).random(shape)
    direct = autocorrelation_by_direct_sum(m)
    np.testing.assert_allclose(direct, direct_correlation(m, m, 2, True), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(autocorrelation(torch.as_tensor(m)).numpy(), direct, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("func", [
    lambda t, **k: autocorrelation(t, **k),
    lambda t, **k: spatial_statistics(t, **k),
    lambda t, **k: cross_correlation(t, t, **k),
])
@pytest.mark.parametrize("periodic", [True, False])
def test_bad_inputs_raise_value_errors_naming_the_problem(func, periodic):
    with pytest.raises(ValueError, match="dims"):
        func(torch.rand(5), ndim=2, periodic=periodic)
    with pytest.raises(ValueError, match="ndim"):
        func(torch.rand(5, 5), ndim=4, periodic=periodic)
    with pytest.raises(ValueError, match="floating-point"):
        func(torch.ones(4, 4, dtype=torch.int64), periodic=periodic)
    with pytest.raises(ValueError, match="empty"):
        func(torch.rand(2, 0, 4), periodic=periodic)
    for bad in (math.nan, math.inf, -math.inf):
        x = torch.rand(3, 4, 4)
        x[1, 2, 3] = bad
        with pytest.raises(ValueError, match="NaN or inf"):
            func(x, periodic=periodic)
    with pytest.raises(TypeError, match="torch.Tensor"):
        func(np.ones((4, 4)), periodic=periodic)


def test_finite_values_whose_sum_overflows_are_accepted():
    x = torch.full((4, 4), 3e38, dtype=torch.float32)  # finite, but their float32 sum is inf
    assert torch.isfinite(autocorrelation(x / 1e30)).all()
    autocorrelation(x)  # no ValueError: the check falls back to an element-wise test


def test_mismatched_shapes_and_bad_eps_raise():
    with pytest.raises(ValueError, match="same shape"):
        cross_correlation(torch.rand(4, 4), torch.rand(4, 5))
    with pytest.raises(ValueError, match="same shape"):
        cross_correlation(torch.rand(2, 4, 4), torch.rand(4, 4))
    for eps in (0.0, -0.25, math.nan):
        with pytest.raises(ValueError, match="eps"):
            phase_indicator(torch.rand(4, 4), eps=eps)
        for periodic in (True, False):
            with pytest.raises(ValueError, match="eps"):
                spatial_statistics(torch.rand(4, 4), eps=eps, periodic=periodic)


# ---------------------------------------------------------------- devices


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("periodic", [True, False])
def test_cuda_matches_cpu(periodic):
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(4, 1, 33, 32, generator=gen)
    target = torch.rand(4, 1, 33, 32, generator=gen)
    results = {}
    for device in ("cpu", "cuda"):
        xd = x.to(device).detach().requires_grad_(True)
        loss = ((spatial_statistics(xd, periodic=periodic) - target.to(device)) ** 2).sum()
        loss.backward()
        f12 = cross_correlation(xd.detach(), target.to(device), periodic=periodic)
        assert f12.device.type == device
        results[device] = (loss.detach().cpu(), xd.grad.cpu(), f12.cpu())
    for got, expected in zip(results["cuda"], results["cpu"]):
        torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-6)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_fused_distance_matches_cpu():
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(4, 1, 33, 32, generator=gen)
    p_t = power_spectrum((torch.rand(4, 1, 33, 32, generator=gen) > 0.1).float())
    results = {}
    for device in ("cpu", "cuda"):
        xd = x.to(device).detach().requires_grad_(True)   # a leaf on each device; x itself stays grad-free
        loss = spatial_statistics_sq_distance(xd, p_t.to(device)).sum()
        loss.backward()
        results[device] = (loss.detach().cpu(), xd.grad.cpu(), power_spectrum(x.to(device)).cpu())
    for got, expected in zip(results["cuda"], results["cpu"]):
        torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-6)


@settings(max_examples=30, deadline=None)
@given(h=st.integers(2, 9), w=st.integers(2, 9), seed=st.integers(0, 10_000),
       eps_to=st.sampled_from([0.05, 0.1, 0.15, 0.4]), phase=st.sampled_from([0.0, 1.0, 0.3]))
def test_binary_spectrum_at_eps_equals_the_spectrum_computed_at_that_eps(h, w, seed, eps_to, phase):
    from utils.statistics.spectral import binary_spectrum_at_eps
    g = torch.Generator().manual_seed(seed)
    b = (torch.rand(3, h, w, generator=g, dtype=torch.float64) > 0.6).double()
    converted = binary_spectrum_at_eps(power_spectrum(b, phase=phase, eps=0.25), (h, w), phase=phase,
                                       eps_from=0.25, eps_to=eps_to)
    direct = power_spectrum(b, phase=phase, eps=eps_to)
    torch.testing.assert_close(converted, direct, rtol=1e-9, atol=1e-12)


def test_binary_spectrum_at_eps_refuses_an_ambiguous_phase():
    from utils.statistics.spectral import binary_spectrum_at_eps
    with pytest.raises(ValueError, match="equidistant"):
        binary_spectrum_at_eps(torch.ones(4, 3), (4, 4), phase=0.5)
