"""Two-point spatial statistics, batched and differentiable.

Conventions used everywhere in this project
-------------------------------------------
* Images are float tensors whose **last** ``ndim`` dimensions are space; any leading
  dimensions (batch, channel, ...) are carried through untouched.
* The phase of interest in the lines dataset is the **black line phase, value 0**
  (background is 1).  :func:`phase_indicator` turns a grey image into a soft indicator
  m(x) in (0, 1] of that phase.
* A statistic has the same shape as its input.  The zero offset r = 0 sits at index
  ``n // 2`` of every spatial axis (the centre pixel, (H//2, W//2) in 2D), so for a
  binary indicator the centre value is the phase's volume fraction.

The maths
---------
For an indicator m on a grid of S points the (periodic) two-point autocorrelation is

    f(r) = (1/S) Σ_x m(x) m(x + r)        (x + r taken modulo the grid size)

and, by the Wiener-Khinchin theorem, f = IFFT(|FFT(m)|²) / S: one forward and one
inverse FFT instead of an O(S²) double sum.  With ``periodic=False`` each side n is
zero-padded to n + n // 2 (the next :func:`fast_length`), enough that none of the offsets kept,
-(n // 2)..(n - 1) // 2, wraps around, and each offset is divided by the number of pairs
(x, x + r) that both lie inside the image instead of by S.

Fourier-space forms of the same statistics (power spectra, distances by Parseval) are in
:mod:`utils.statistics.spectral`.

Speed: the periodic autocorrelation (and so :func:`spatial_statistics`, the loss's f) runs
through :class:`_PeriodicStatistics`, whose backward is written by hand: it centres r = 0
by a ±1 factor on the spectrum instead of rolling the result (even sides; odd sides are
rolled), and its backward costs one rfftn + one irfftn (autograd's backward of rfftn goes
through a full complex FFT).  Only first derivatives are supported on that path (double
backward raises a RuntimeError).

>>> import torch
>>> m = torch.tensor([[0., 1., 0.], [0., 1., 0.], [0., 0., 0.]])
>>> autocorrelation(m)
tensor([[0.0000, 0.1111, 0.0000],
        [0.0000, 0.2222, 0.0000],
        [0.0000, 0.1111, 0.0000]])
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch.autograd.function import once_differentiable

__all__ = ["phase_indicator", "autocorrelation", "cross_correlation", "spatial_statistics",
           "normalised_autocovariance", "autocorrelation_by_direct_sum", "check_spatial", "fast_length"]


def phase_indicator(x: torch.Tensor, phase: float = 0.0, eps: float = 0.25) -> torch.Tensor:
    """Soft indicator m(x) = exp(-(x - phase)² / (2 eps²)) of the grey level ``phase``.

    Same shape as ``x``.  Equals 1 where ``x == phase`` and decays smoothly away from it,
    so gradients flow through it (a hard threshold would have zero gradient almost
    everywhere).  With the paper's ``phase=0, eps=0.25`` a white pixel (x = 1) maps to
    exp(-8) ≈ 3.4e-4.
    """
    if not eps > 0:  # also catches NaN
        raise ValueError(f"eps must be > 0, got {eps}; the paper uses eps=0.25")
    return torch.exp(-((x - phase) ** 2) / (2.0 * eps * eps))


def check_spatial(m: torch.Tensor, ndim: int, name: str = "m") -> None:
    """Raise a TypeError/ValueError naming the fix unless ``m`` is a non-empty, finite float tensor
    with at least ``ndim`` (1, 2 or 3) trailing spatial dimensions."""
    if not isinstance(m, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(m).__name__}; "
                        "wrap arrays with torch.as_tensor(a, dtype=torch.float32)")
    if ndim not in (1, 2, 3):
        raise ValueError(f"ndim must be 1, 2 or 3, got {ndim}")
    if m.dim() < ndim:
        raise ValueError(f"{name} has {m.dim()} dims but ndim={ndim} spatial dims were asked for; "
                         f"pass an array of shape (..., {', '.join('N' * ndim)})")
    if not m.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor, got {m.dtype}; "
                         "convert with .float() (binary images become 0.0/1.0)")
    if any(s == 0 for s in m.shape):
        raise ValueError(f"{name} is empty (shape {tuple(m.shape)})")
    # one read-only pass: a NaN or inf anywhere makes the sum non-finite; a finite sum that
    # overflowed is settled by the exact (slower) test
    if not torch.isfinite(m.detach().sum()) and not torch.isfinite(m).all():
        raise ValueError(f"{name} contains NaN or inf values; clean the input before computing statistics")


def _pair_counts(shape: tuple[int, ...], dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """Number of pairs (x, x + r) inside a non-periodic grid, laid out with r = 0 at n // 2."""
    counts = None
    for n in shape:
        r = torch.arange(n, device=device, dtype=dtype) - n // 2
        c = n - r.abs()
        counts = c if counts is None else counts[..., None] * c
    return counts


def cross_correlation(m1: torch.Tensor, m2: torch.Tensor, *, ndim: int = 2,
                      periodic: bool = True) -> torch.Tensor:
    """Two-point cross-correlation f12(r) = (1/S) Σ_x m1(x) m2(x + r) over the last ``ndim`` dims.

    ``m1`` and ``m2`` must have identical shapes (no broadcasting).  Returns a tensor of
    that shape with r = 0 at index ``n // 2`` of each spatial axis.  ``periodic=False``
    zero-pads and divides each offset by its number of in-image pairs.  Differentiable,
    batched (one FFT call for all leading dims), runs on the inputs' device.
    """
    check_spatial(m1, ndim, "m1")
    check_spatial(m2, ndim, "m2")
    if m1.shape != m2.shape:
        raise ValueError(f"m1 and m2 must have the same shape, got {tuple(m1.shape)} and {tuple(m2.shape)}")
    return _correlate(m1, m2, ndim, periodic)


def _centring_factor(shape: tuple[int, ...], dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """Real factor on the rfftn half-grid (shape ``(n1, ..., n_last // 2 + 1)``) that rolls a real
    signal by ``n // 2`` along every *even* axis, moving r = 0 from index 0 to index ``n // 2``.

    Rolling by s multiplies the spectrum by exp(-2πi k s / n), which for even n and s = n // 2
    is (-1)^k: exactly ±1, so centring costs one real multiply on the half spectrum.  Odd axes
    get factor 1 here and are rolled in real space (their phase factor would be complex).
    """
    factor = torch.ones((), dtype=dtype, device=device)
    for axis, n in enumerate(shape):
        length = n // 2 + 1 if axis == len(shape) - 1 else n
        k = torch.arange(length, device=device)
        sign = 1 - 2 * (k % 2) if n % 2 == 0 else torch.ones_like(k)
        factor = factor[..., None] * sign.to(dtype)
    return factor


def _odd_axis_shifts(shape: tuple[int, ...]) -> tuple[list[int], list[int]]:
    """(shifts, dims) of the real-space roll that centres the odd axes (the even ones are done in Fourier space)."""
    odd = [(n // 2, axis - len(shape)) for axis, n in enumerate(shape) if n % 2 == 1]
    return [s for s, _ in odd], [d for _, d in odd]


class _PeriodicStatistics(torch.autograd.Function):
    """Centred periodic autocorrelation of m (``eps=None``) or of ``phase_indicator(x, phase, eps)``.

    Forward: F = rfftn(m); f = irfftn(|F|² · c / S) with c the centring factor; this is
    (1/S) Σ_x m(x) m(x + r) laid out with r = 0 at index n // 2.  Backward, for an upstream
    gradient g of f: ∂L/∂m = irfftn(2 Re(G) · c · F / S) with G = rfftn(g) (the correlation
    plus the convolution of g with m), then times dm/dx = -m (x - phase) / eps².
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, ndim: int, phase: float, eps: float | None) -> torch.Tensor:
        dims, shape = tuple(range(-ndim, 0)), tuple(x.shape[-ndim:])
        if eps is None:
            m = x
        else:  # phase_indicator, in place on one fresh tensor
            m = torch.square(x - phase if phase != 0 else x).mul_(-0.5 / (eps * eps)).exp_()
        spectrum = torch.fft.rfftn(m, dim=dims)
        centring = _centring_factor(shape, x.dtype, x.device) / math.prod(shape)  # with the 1/S
        power = (spectrum * spectrum.conj()).mul_(centring)
        ctx.save_for_backward(x, m, spectrum, centring)
        ctx.ndim, ctx.phase, ctx.eps = ndim, phase, eps
        corr = torch.fft.irfftn(power, s=shape, dim=dims)
        shifts, odd_dims = _odd_axis_shifts(shape)
        return torch.roll(corr, shifts, odd_dims) if shifts else corr

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None, None, None]:
        x, m, spectrum, centring = ctx.saved_tensors
        dims, shape = tuple(range(-ctx.ndim, 0)), tuple(grad.shape[-ctx.ndim:])
        shifts, odd_dims = _odd_axis_shifts(shape)
        if shifts:
            grad = torch.roll(grad, [-s for s in shifts], odd_dims)
        g = torch.fft.rfftn(grad, dim=dims)
        # 2 Re(G) c / S, with the indicator's -1/eps² folded into the (small) factor
        scale = 2.0 if ctx.eps is None else -2.0 / (ctx.eps * ctx.eps)
        grad_m = torch.fft.irfftn(spectrum * (g.real * (centring * scale)), s=shape, dim=dims)
        if ctx.eps is not None:
            grad_m.mul_(m).mul_(x - ctx.phase if ctx.phase != 0 else x)
        return grad_m, None, None, None


def autocorrelation(m: torch.Tensor, *, ndim: int = 2, periodic: bool = True) -> torch.Tensor:
    """Two-point autocorrelation f(r) = (1/S) Σ_x m(x) m(x + r) over the last ``ndim`` dims.

    Shape in = shape out, ``(..., n1, ..., n_ndim)``; r = 0 at index ``n // 2`` of each
    spatial axis, so for a binary image the centre value is its volume fraction.
    ``periodic=True`` wraps x + r around the grid (the paper's choice); ``periodic=False``
    zero-pads and divides each offset by the number of pairs (x, x + r) inside the image.
    """
    check_spatial(m, ndim)
    if periodic:
        return _PeriodicStatistics.apply(m, ndim, 0.0, None)
    return _correlate(m, None, ndim, periodic)


def fast_length(n: int) -> int:
    """The smallest length >= n whose only prime factors are 2, 3 and 5 (FFTs of it are fast; 95 is 5 x 19).

    >>> [fast_length(n) for n in (64, 95, 97, 159)]
    [64, 96, 100, 160]
    """
    length = n
    while True:
        rest = length
        for p in (2, 3, 5):
            while rest % p == 0:
                rest //= p
        if rest == 1:
            return length
        length += 1


def _correlate(m1: torch.Tensor, m2: torch.Tensor | None, ndim: int, periodic: bool) -> torch.Tensor:
    shape = tuple(m1.shape[-ndim:])
    dims = tuple(range(-ndim, 0))
    # non-periodic: the offsets kept, -(n//2)..(n-1)//2, cannot wrap in a length of n + n//2 (the next fast_length)
    fft_shape = shape if periodic else tuple(fast_length(n + n // 2) for n in shape)
    F1 = torch.fft.rfftn(m1, s=fft_shape, dim=dims)
    if m2 is None:
        power = F1.real.square() + F1.imag.square()
    else:
        power = torch.conj(F1) * torch.fft.rfftn(m2, s=fft_shape, dim=dims)
    corr = torch.fft.irfftn(power, s=fft_shape, dim=dims)
    if periodic:
        corr = torch.fft.fftshift(corr, dim=dims) / math.prod(shape)
    else:
        # offsets -(n//2) .. (n-1)//2 live at indices [L - n//2, L) and [0, (n-1)//2 + 1), L the padded length
        for d, n in zip(dims, shape):
            corr = torch.roll(corr, shifts=n // 2, dims=d).narrow(d, 0, n)
        corr = corr / _pair_counts(shape, corr.dtype, corr.device)
    return corr


def spatial_statistics(x: torch.Tensor, *, phase: float = 0.0, eps: float = 0.25, ndim: int = 2,
                       periodic: bool = True) -> torch.Tensor:
    """The f of the paper's loss: ``autocorrelation(phase_indicator(x, phase, eps))``.

    Shape in = shape out, r = 0 at index ``n // 2``.  The periodic case fuses the indicator
    into :class:`_PeriodicStatistics` (fast forward and backward, first derivatives only).
    """
    check_spatial(x, ndim, "x")
    if periodic:
        if not eps > 0:
            raise ValueError(f"eps must be > 0, got {eps}; the paper uses eps=0.25")
        return _PeriodicStatistics.apply(x, ndim, float(phase), float(eps))
    return _correlate(phase_indicator(x, phase, eps), None, ndim, periodic)


def autocorrelation_by_direct_sum(m: np.ndarray) -> np.ndarray:
    """f(r) = (1/S) Σ_x m(x) m(x + r) of a 2-D array by brute force: one shifted product per offset.

    Periodic, float64, r = 0 at (H//2, W//2), the same layout as :func:`autocorrelation`.  It
    costs O(S²) (every offset times every position) against the FFT's O(S log S): a reference for
    small arrays (notebook 02 checks the FFT against it), not for real images.

    >>> autocorrelation_by_direct_sum(np.array([[0., 1.], [0., 1.]]))
    array([[0. , 0.5],
           [0. , 0.5]])
    """
    m = np.asarray(m, dtype=np.float64)
    if m.ndim != 2:
        raise ValueError(f"m must be a 2-D array, got shape {m.shape}")
    h, w = m.shape
    f = np.empty((h, w))
    for i in range(h):
        for j in range(w):                  # shifted[x] = m(x + r) with r = (i - h // 2, j - w // 2)
            shifted = np.roll(m, shift=(-(i - h // 2), -(j - w // 2)), axis=(0, 1))
            f[i, j] = (m * shifted).mean()
    return f


def normalised_autocovariance(f: torch.Tensor, *, ndim: int = 2, uniform: str = "raise") -> torch.Tensor:
    """(f(r) - phi²) / (phi (1 - phi)) of centred statistics ``f``, phi = f(0) of each item.

    For a binary image phi is the volume fraction, f(0) = phi and f(r) -> phi² for offsets far
    apart, so the result is 1 at r = 0 and ~0 where two points are uncorrelated, whatever the
    volume fraction (a correlation coefficient).  Shape in = shape out.  An item whose phase is
    empty or fills it (phi (1 - phi) ~ 0) has no defined ratio: ``uniform="raise"`` raises
    ValueError, ``uniform="zero"`` gives it a map of zeros (no structure: what a reconstruction
    that lost its phase is scored against).

    >>> f = autocorrelation(torch.tensor([[1., 0.], [0., 0.]], dtype=torch.float64))
    >>> normalised_autocovariance(f)          # one pixel of four: uncorrelated with the others
    tensor([[-0.3333, -0.3333],
            [-0.3333,  1.0000]], dtype=torch.float64)
    """
    check_spatial(f, ndim, "f")
    centre = (Ellipsis,) + tuple(n // 2 for n in f.shape[-ndim:])
    phi = f[centre][(Ellipsis,) + (None,) * ndim]
    spread = phi * (1 - phi)
    if uniform == "zero":
        return torch.where(spread < 1e-12, torch.zeros_like(f), (f - phi * phi) / spread.clamp_min(1e-12))
    if uniform != "raise":
        raise ValueError(f"uniform must be 'raise' or 'zero', got {uniform!r}")
    if bool((spread < 1e-12).any()):
        raise ValueError("an item's phase is empty or fills the whole image (f(0) = 0 or 1), so its "
                         "autocovariance is undefined; drop such images or pick the other phase")
    return (f - phi * phi) / spread

