"""Tests of utils.stats against a direct O(S²) double sum, plus the identities the statistics obey.

The reference below is written from the definition and shares no code with utils.stats:

    f12(r) = (1/S) Σ_x m1(x) m2(x + r)          periodic: x + r taken modulo the grid
    f12(r) = (1/N(r)) Σ_{x, x+r in image} ...    non-periodic: N(r) = number of such pairs

laid out with offset r = i - n // 2 at index i of every spatial axis.
"""
from __future__ import annotations

import doctest
import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import utils.stats
from utils.stats import autocorrelation, cross_correlation, phase_indicator, spatial_statistics

PROPERTY = settings(max_examples=40, deadline=None)
MAX_SIDE = {1: 12, 2: 7, 3: 4}  # largest side per spatial ndim, keeps the O(S²) reference fast


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny tensors only: run them on one thread.  On a busy shared 2-core machine, OpenMP
    threads spin-waiting at each tiny FFT made gradcheck ~100x slower (measured)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


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


# ---------------------------------------------------------------- doctest and bad inputs


def test_module_doctest_runs():
    result = doctest.testmod(utils.stats, verbose=False)
    assert result.attempted > 0 and result.failed == 0


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
